import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, spawnServer, until, type ServerProcess } from './support/server-process.js';

const started: ServerProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  // A failed test may leave its server running; stop every one this file started.
  await Promise.all(started.map((server) => server.stop()));
  for (const cleanup of cleanups) await cleanup();
});

async function start(env: Record<string, string>): Promise<{ server: ServerProcess; url: string }> {
  const port = await freePort();
  const server = spawnServer({ HOST: '127.0.0.1', PORT: String(port), ...env });
  started.push(server);
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      const exit = server.exitCode();
      if (exit !== undefined) throw new Error(`the server exited (${exit}):\n${server.stdout()}\n${server.stderr()}`);
      // Until this server says it listens, whatever answers on the port is another process's
      // (the port was free when chosen, but other test processes on the machine may take it).
      if (!server.stdout().includes(`:${port}"`)) return undefined;
      const healthy = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
      return healthy ? true : undefined;
    },
    45_000,
    `${url}/healthz to answer 200`,
  );
  return { server, url };
}

async function me(url: string, key: string): Promise<{ status: number; body: { roles?: { admin: boolean } } }> {
  const response = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as { roles?: { admin: boolean } } };
}

const PRINTED_KEY = /\bbrv_[A-Za-z0-9_-]{43}\b/;

describe('npm start with nothing configured (dev mode)', () => {
  it('runs on PGlite, prints an admin key once, serves /docs and stops cleanly', { timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'brevet-dev-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));

    const first = await start({ BREVET_DATA_DIR: dataDir });
    // stdout is a pipe here, not a terminal: the log is JSON, one object per line (issue 15).
    const devModeLine = first.server.stdout().split('\n').find((line) => line.includes('DEV MODE'));
    expect(JSON.parse(devModeLine!)).toMatchObject({ level: 40, msg: expect.stringContaining('DEV MODE') });

    const [key] = await first.server.waitForOutput(PRINTED_KEY);
    const caller = await me(first.url, key);
    expect(caller.status).toBe(200);
    expect(caller.body.roles?.admin).toBe(true);

    const docs = await fetch(`${first.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await docs.text()).toMatch(/swagger/i);

    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(200);

    expect(await first.server.stop()).toBe(0);

    // Same data directory: the admin exists, so no new key is printed, and the old one still works.
    const second = await start({ BREVET_DATA_DIR: dataDir });
    expect(second.server.stdout()).toContain('DEV MODE');
    expect((await me(second.url, key)).status).toBe(200);
    expect(second.server.stdout()).not.toMatch(PRINTED_KEY);
    expect(await second.server.stop()).toBe(0);
    expect(second.server.stdout()).not.toMatch(PRINTED_KEY);
  });
});

describe('npm start with DATABASE_URL and BREVET_BOOTSTRAP_ADMIN_KEY', () => {
  it.each([
    ['a long key', `brv_given_${'k'.repeat(40)}`],
    ['a short one, with a warning', 'adm1n-k3y'],
  ])('installs exactly the given key for a bootstrap admin and never prints it: %s', { timeout: 60_000 }, async (_, givenKey) => {
    const database: TestDatabase = await createTestDatabase();
    cleanups.push(() => database.drop());

    const { server, url } = await start({ DATABASE_URL: database.url, BREVET_BOOTSTRAP_ADMIN_KEY: givenKey });
    const caller = await me(url, givenKey);
    expect(caller.status).toBe(200);
    expect(caller.body.roles?.admin).toBe(true);
    expect((await me(url, `${givenKey}x`)).status).toBe(401);

    expect(await server.stop()).toBe(0);
    const output = server.stdout() + server.stderr();
    expect(output).not.toContain(givenKey);
    expect(output).not.toContain('DEV MODE');
    expect(output).not.toMatch(PRINTED_KEY);
    expect(output.includes('BREVET_BOOTSTRAP_ADMIN_KEY is under 32 characters')).toBe(givenKey.length < 32);
  });
});
