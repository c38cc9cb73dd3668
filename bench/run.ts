import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { buildDeps } from '../src/deps.js';
import { createLogger } from '../src/logging.js';
import { ensureBootstrapAdmin } from '../src/principals/bootstrap-admin.js';
import { seedAuditEvents } from '../scripts/seed-audit-events.js';

/**
 * `npm run bench`: the audit trail at scale (issue targets: filtered page p95 < 20 ms, export
 * > 100,000 events/s with flat memory). Seeds a fresh database with BENCH_EVENTS events
 * (default 1,000,000), serves the real app on loopback and measures it with real HTTP.
 */
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? '1000000');
const QUERIES = Number(process.env['BENCH_QUERIES'] ?? '300');
const ADMIN_URL = process.env['TEST_DATABASE_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(statement);
  await client.end();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const name = `brevet_bench_${randomBytes(4).toString('hex')}`;
await admin(`create database ${name}`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const adminKey = `brv_bench_${randomBytes(24).toString('hex')}`;
const logger = createLogger('warn');
const deps = buildDeps(loadConfig({ DATABASE_URL: url.toString() }), logger);
try {
  await deps.database.migrate();
  await ensureBootstrapAdmin(deps, { adminGroups: ['brevet-admins'], givenKey: adminKey, generate: false });
  let started = Date.now();
  const ids = await seedAuditEvents(url.toString(), EVENTS);
  console.log(`seeded ${EVENTS} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const app = await buildApp(deps);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const headers = { authorization: `Bearer ${adminKey}` };
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

  const queries: [string, () => string][] = [
    ['requestId', () => `requestId=${pick(ids.requests).id}`],
    ['actor', () => `actor=${pick(ids.principals)}`],
    ['action', () => 'action=credentials.issued'],
    ['profileId+action', () => `profileId=${pick(ids.profiles)}&action=request.created`],
    ['from/to (1 day)', () => {
      const from = new Date(Date.now() - Math.random() * 89 * 86_400_000);
      return `from=${from.toISOString()}&to=${new Date(from.getTime() + 86_400_000).toISOString()}`;
    }],
  ];
  // Warm up connections and plans before measuring.
  for (let i = 0; i < 20; i += 1) await (await fetch(`${base}/v1/audit?${pick(queries)[1]()}&limit=100`, { headers })).json();
  for (const [label, query] of queries) {
    const times: number[] = [];
    for (let i = 0; i < QUERIES / queries.length; i += 1) {
      const t0 = performance.now();
      const response = await fetch(`${base}/v1/audit?${query()}&limit=100`, { headers });
      await response.json();
      if (!response.ok) throw new Error(`query ${label} answered ${response.status}`);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`GET /v1/audit?${label}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms`);
  }

  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  started = performance.now();
  const response = await fetch(`${base}/v1/audit/export?format=ndjson`, { headers });
  let lines = 0;
  for await (const chunk of response.body!) {
    const bytes = chunk as Uint8Array;
    for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  console.log(
    `GET /v1/audit/export ndjson: ${lines} events in ${seconds.toFixed(1)} s = ${Math.round(lines / seconds).toLocaleString('en-US')} events/s; ` +
      `process RSS ${Math.round(rssBefore / 2 ** 20)} MiB before, ${Math.round(rssPeak / 2 ** 20)} MiB peak (server and client in one process)`,
  );
  await app.close();
} finally {
  await deps.close();
  if (process.env['BENCH_KEEP_DB'] === undefined) await admin(`drop database if exists ${name} with (force)`);
}
