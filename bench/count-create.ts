// What one POST /v1/requests costs, counted rather than timed, so that it does not depend on how
// loaded the machine is: the API process talks to PostgreSQL and Redis through counting TCP
// proxies, and the statements (Parse or simple Query messages), round trips (Sync or Query) and
// Redis commands of N sequential creates are listed per create. With LOAD_SECONDS, a load of 50
// connections runs first and the CPU time the API process and its PostgreSQL backends spent per
// create is printed (CPU time still grows with contention: compare runs at similar load).
//   npx tsx bench/count-create.ts            N=100, COUNT_REDIS_URL=redis://127.0.0.1:6379/11
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { BrevetClient, startBrevet } from './lib/brevet.js';
import { freePort } from './lib/processes.js';
import { ADMIN_URL, createBenchDatabase, sql } from './lib/services.js';

/** CPU time (user + system) a process has used so far, in ms. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};
/** CPU of the PostgreSQL backends serving `database` (its pool's connections). */
async function backendsCpu(database: string): Promise<Map<number, number>> {
  const { rows } = await sql(ADMIN_URL, `select pid from pg_stat_activity where datname = '${database}'`);
  const cpu = new Map<number, number>();
  for (const { pid } of rows as { pid: number }[]) {
    try {
      cpu.set(pid, cpuMs(pid));
    } catch {
      // gone
    }
  }
  return cpu;
}
const usedSince = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);
const N = Number(process.env['N'] ?? '100');

const pgCounts = { roundTrips: 0, statements: 0, byText: new Map<string, number>() };
const redisCounts = { writes: 0, commands: 0, byName: new Map<string, number>() };
let counting = false;
interface ParseState {
  buf: Buffer;
  started: boolean;
}
const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

/** A TCP proxy to 127.0.0.1:targetPort that shows every byte the client sends to `onClientData`. */
async function proxy(targetPort: number, onClientData: (state: ParseState, chunk: Buffer) => void): Promise<number> {
  const port = await freePort();
  const server = createServer((client: Socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const state: ParseState = { buf: Buffer.alloc(0), started: false };
    client.on('data', (chunk) => {
      onClientData(state, chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return port;
}

/** PostgreSQL frontend messages: a startup packet (or SSLRequest) first, then type byte + length. */
function pgParse(state: ParseState, chunk: Buffer) {
  state.buf = Buffer.concat([state.buf, chunk]);
  for (;;) {
    if (!state.started) {
      if (state.buf.length < 8) return;
      const len = state.buf.readInt32BE(0);
      const code = state.buf.readInt32BE(4);
      if (state.buf.length < len) return;
      state.buf = state.buf.subarray(len);
      if (code !== 80877103) state.started = true; // not SSLRequest
      continue;
    }
    if (state.buf.length < 5) return;
    const type = String.fromCharCode(state.buf[0]!);
    const len = state.buf.readInt32BE(1);
    if (state.buf.length < 1 + len) return;
    const body = state.buf.subarray(5, 1 + len);
    state.buf = state.buf.subarray(1 + len);
    if (!counting) continue;
    if (type === 'Q') {
      pgCounts.roundTrips++;
      const text = body.subarray(0, body.indexOf(0)).toString();
      for (const s of text.split(';').filter((x) => x.trim() !== '')) {
        pgCounts.statements++;
        bump(pgCounts.byText, s.trim().slice(0, 110));
      }
    } else if (type === 'P') {
      const nameEnd = body.indexOf(0);
      const text = body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString();
      pgCounts.statements++;
      bump(pgCounts.byText, text.replace(/\s+/g, ' ').slice(0, 110));
    } else if (type === 'S') pgCounts.roundTrips++;
  }
}

/** RESP requests: arrays of bulk strings. A client write is one round trip (a pipeline is one write). */
function redisParse(state: ParseState, chunk: Buffer) {
  if (counting) redisCounts.writes++;
  state.buf = Buffer.concat([state.buf, chunk]);
  for (;;) {
    const s = state.buf;
    if (s.length === 0 || s[0] !== 0x2a) return;
    let pos = s.indexOf('\r\n');
    if (pos < 0) return;
    const n = Number(s.subarray(1, pos).toString());
    pos += 2;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = s.indexOf('\r\n', pos);
      if (e < 0) return;
      const len = Number(s.subarray(pos + 1, e).toString());
      if (s.length < e + 2 + len + 2) return;
      if (i < 2) args.push(s.subarray(e + 2, e + 2 + len).toString());
      pos = e + 2 + len + 2;
    }
    state.buf = s.subarray(pos);
    if (!counting) continue;
    redisCounts.commands++;
    const name = args[0]!.toUpperCase();
    bump(redisCounts.byName, name === 'EVALSHA' || name === 'EVAL' ? `${name} ${args[1]!.slice(0, 12)}` : name);
  }
}

const db = await createBenchDatabase('count');
const redisUrl = new URL(process.env['COUNT_REDIS_URL'] ?? 'redis://127.0.0.1:6379/11');
const pgPort = await proxy(5432, pgParse);
const redisPort = await proxy(Number(redisUrl.port || 6379), redisParse);
const dbUrl = new URL(db.url);
dbUrl.port = String(pgPort);
const rUrl = new URL(redisUrl);
rUrl.port = String(redisPort);
const redis = new Redis(redisUrl.toString());
if ((await redis.dbsize()) > 0) throw new Error(`${redisUrl.toString()} is not empty: set COUNT_REDIS_URL to an unused database`);
const { api, adminKey } = await startBrevet(dbUrl.toString(), { REDIS_URL: rUrl.toString() });
try {
  const admin = new BrevetClient(api.url, adminKey);
  await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
  const requester = await admin.person('requester', ['bench-dev']);
  const client = admin.as(requester.key);
  const body = { profile: 'bench', durationSeconds: 900, justification: 'benchmark load' };
  for (let i = 0; i < 20; i++) await client.call('POST', '/v1/requests', body);
  await new Promise((r) => setTimeout(r, 1500));
  if (process.env['LOAD_SECONDS'] !== undefined) {
    const cpuBefore = cpuMs(api.pid);
    const pgBefore = await backendsCpu(new URL(db.url).pathname.slice(1));
    const result = await autocannon({
      url: `${api.url}/v1/requests`,
      method: 'POST',
      connections: 50,
      duration: Number(process.env['LOAD_SECONDS']),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${requester.key}` },
      body: JSON.stringify(body),
    });
    const pgUsed = usedSince(pgBefore, await backendsCpu(new URL(db.url).pathname.slice(1)));
    console.log(
      `load: ${result.requests.average} req/s, p99 ${result.latency.p99} ms, non2xx ${result.non2xx}; per create: API CPU ${((cpuMs(api.pid) - cpuBefore) / result.requests.total).toFixed(2)} ms, PostgreSQL CPU ${(pgUsed / result.requests.total).toFixed(2)} ms`,
    );
  }
  await new Promise((r) => setTimeout(r, 1500));
  counting = true;
  const cpuStart = cpuMs(api.pid);
  let left = N;
  while (left-- > 0) await client.call('POST', '/v1/requests', body);
  const cpuUsed = cpuMs(api.pid) - cpuStart;
  await new Promise((r) => setTimeout(r, 1500));
  counting = false;
  const per = (x: number) => (x / N).toFixed(2);
  console.log(`per create (N=${N}, one at a time):`);
  console.log(`  API CPU: ${per(cpuUsed)} ms`);
  console.log(`  PostgreSQL: ${per(pgCounts.statements)} statements, ${per(pgCounts.roundTrips)} round trips`);
  for (const [text, count] of [...pgCounts.byText].sort((a, b) => b[1] - a[1])) console.log(`    ${per(count).padStart(6)}  ${text}`);
  console.log(`  Redis: ${per(redisCounts.commands)} commands in ${per(redisCounts.writes)} writes`);
  for (const [name, count] of [...redisCounts.byName].sort((a, b) => b[1] - a[1])) console.log(`    ${per(count).padStart(6)}  ${name}`);
} finally {
  await api.stop();
  await redis.flushdb();
  await redis.quit();
  await db.drop();
  process.exit(0);
}
