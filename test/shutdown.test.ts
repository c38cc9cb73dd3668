import { execFileSync } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { deliveries } from '../src/db/schema.js';
import { createProfile, openRequest } from './jobs/helpers.js';
import { startTestApp, type TestApp } from './support/app.js';
import { deleteKeysWithPrefix } from './support/queue.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, spawnServer, until, type Entry, type ServerProcess } from './support/server-process.js';

// Production as the README starts it (`npm start` with DATABASE_URL and REDIS_URL, the worker),
// signalled the ways a terminal, a process manager and a container runtime do.

/** A Redis database index of this file's own: the worker's queue uses the default `brevet` prefix. */
const REDIS_URL = 'redis://127.0.0.1:6379/11';
const ADMIN_KEY = `brv_shutdown_${'s'.repeat(32)}`;
/** The bound: nothing of the process tree may be left 10 s after the signal. */
const STOP_WITHIN_MS = 10_000;

const started: ServerProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const server of started) if (server.exitCode() === undefined) server.child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup();
  // The worker and the API queued under the default prefix in this file's database index.
  await deleteKeysWithPrefix('brevet', REDIS_URL);
});

/** Every descendant of `pid` (the shell npm may start, node), read from the process table. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function startApi(entry: Entry, database: TestDatabase): Promise<{ server: ServerProcess; port: number }> {
  const port = await freePort();
  const server = spawnServer(
    // debug: the "incoming request" line tells the test its request is in flight.
    { DATABASE_URL: database.url, REDIS_URL, BREVET_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'debug' },
    entry,
    { detached: true },
  );
  started.push(server);
  await until(
    async () => {
      if (server.exitCode() !== undefined) throw new Error(`exited early:\n${server.stdout()}\n${server.stderr()}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) ? true : undefined;
    },
    30_000,
    'the API to be ready',
  );
  return { server, port };
}

/** A POST whose body is held back, so the request is in flight when the signal arrives; `finish` sends the rest. */
function heldRequest(port: number): { response: Promise<{ status: number; body: string }>; finish(): void } {
  const body = JSON.stringify({ kind: 'service', displayName: 'in-flight at shutdown', groups: [] });
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/principals',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
  });
  req.write(body.slice(0, 5));
  return { response, finish: () => req.end(body.slice(5)) };
}

describe.each([
  { how: 'SIGTERM to the npm process alone (kill <pid>, a process manager)', signal: 'SIGTERM', group: false },
  { how: 'SIGTERM to the process group', signal: 'SIGTERM', group: true },
  { how: 'SIGINT to the process group (Ctrl-C in a terminal)', signal: 'SIGINT', group: true },
] as const)('npm start in production, $how', ({ signal, group }) => {
  it('finishes the in-flight request, exits 0 and leaves no process and no open port within 10 s', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const { server, port } = await startApi('npm-start', database);
    const npmPid = server.child.pid!;
    const tree = [npmPid, ...descendants(npmPid)];
    expect(tree.length).toBeGreaterThan(1);

    const held = heldRequest(port);
    await server.waitForOutput(/"url":"\/v1\/principals".*"msg":"incoming request"|"msg":"incoming request".*"url":"\/v1\/principals"/);
    const signalledAt = Date.now();
    process.kill(group ? -npmPid : npmPid, signal);
    await server.waitForOutput(/shutting down/);
    held.finish();

    const answered = await held.response;
    expect(answered.status, answered.body).toBe(201);
    const code = await Promise.race([server.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), STOP_WITHIN_MS))]);
    expect(code, `${server.stdout()}\n${server.stderr()}`).toBe(0);
    await until(() => (tree.every((pid) => !alive(pid)) ? true : undefined), STOP_WITHIN_MS - (Date.now() - signalledAt), 'every process of the tree to end');
    expect(await portRefuses(port)).toBe(true);
    expect(server.stdout()).toMatch(/"msg":"stopped"/);
  });
});

describe('the worker (node dist/worker.js)', () => {
  let slow: Server | undefined;
  let t: TestApp | undefined;
  afterAll(async () => {
    slow?.closeAllConnections();
    slow?.close();
    await t?.close();
  });

  it('on SIGTERM finishes the job it is running (a webhook delivery), exits 0, leaves nothing running', { timeout: 60_000 }, async () => {
    // A webhook receiver that answers 1.5 s after it is called: the delivery is in flight when the signal comes.
    const hits: number[] = [];
    slow = createServer((req, res) => {
      hits.push(Date.now());
      req.resume();
      setTimeout(() => res.end('ok'), 1_500);
    });
    const hookPort = await freePort();
    await new Promise<void>((resolve) => slow!.listen(hookPort, '127.0.0.1', resolve));
    const webhookEnv = { BREVET_WEBHOOK_URLS: `http://127.0.0.1:${hookPort}/hook`, BREVET_WEBHOOK_SECRET: 'shutdown-test-webhook-secret' };

    // The API (in this process) records the delivery and queues its job where the worker takes it.
    t = await startTestApp({ env: { ...webhookEnv, REDIS_URL }, realClock: true });
    const profile = await createProfile(t, { required: 1 });
    const requester = await t.principal({ groups: ['dev'] });
    await openRequest(t, requester.key, { profile: profile.name });
    const [pending] = await t.deps.db.select().from(deliveries).where(eq(deliveries.status, 'pending'));
    if (pending === undefined) throw new Error('no webhook delivery was recorded for the change');

    const worker = spawnServer({ DATABASE_URL: t.database.url, REDIS_URL, ...webhookEnv }, 'worker');
    started.push(worker);
    await until(() => (hits.length > 0 ? true : undefined), 20_000, 'the worker to call the webhook');
    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');

    const code = await Promise.race([worker.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), STOP_WITHIN_MS))]);
    expect(code, `${worker.stdout()}\n${worker.stderr()}`).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1_000);
    const [row] = await t.deps.db.select().from(deliveries).where(eq(deliveries.id, pending.id));
    expect(row?.status).toBe('delivered');
    expect(alive(worker.child.pid!)).toBe(false);
    expect(worker.stdout()).toMatch(/"msg":"stopped"/);
  });
});
