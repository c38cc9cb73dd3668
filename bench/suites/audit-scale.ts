import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { exportAudit } from '../../src/audit/export-audit.js';
import { loadConfig } from '../../src/config.js';
import { buildDeps } from '../../src/deps.js';
import type { Caller } from '../../src/domain/caller.js';
import { createLogger } from '../../src/logging.js';
import { ensureBootstrapAdmin } from '../../src/principals/bootstrap-admin.js';
import { MiB } from '../lib/measure.js';
import { seedAuditEvents } from '../../scripts/seed-audit-events.js';

/**
 * The audit trail at scale (issue targets: filtered page p95 < 20 ms, export
 * > 100,000 events/s with flat memory). Seeds a fresh database with BENCH_EVENTS events
 * (default 1,000,000), serves the real app on loopback and measures it with real HTTP.
 *
 * Hygiene: the numbers are only as good as the machine is quiet (the load average is printed at
 * the start and the end); after the seed, the table is vacuumed as autovacuum would soon do after
 * such a bulk insert (otherwise the first reads of each page write hint bits, and no index-only
 * scan is possible); every query shape is warmed up before it is measured. The export is measured
 * twice: the server-side generator alone (no HTTP), then over HTTP to a client in another
 * process, as a real client would be, with the server process's memory sampled meanwhile.
 */
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? '1000000');
/** Measured requests per query shape. */
const QUERIES = Number(process.env['BENCH_QUERIES'] ?? '60');
const WARM_UP = 10;
const ADMIN_URL = process.env['TEST_DATABASE_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function run(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(statement);
  await client.end();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}


/** GETs `url` from a separate Node process: the lines of the body, and the seconds from request to last byte. */
function readElsewhere(url: string, headers: Record<string, string>): Promise<{ lines: number; seconds: number }> {
  const script = `
    const started = performance.now();
    const response = await fetch(process.argv[1], { headers: JSON.parse(process.argv[2]) });
    if (!response.ok) throw new Error('export answered ' + response.status);
    let lines = 0;
    for await (const bytes of response.body) for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines += 1;
    process.stdout.write(JSON.stringify({ lines, seconds: (performance.now() - started) / 1000 }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, url, JSON.stringify(headers)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { lines: number; seconds: number }) : reject(new Error(`export client exited with ${code}`))));
  });
}

export async function auditAtScale(): Promise<void> {
  const name = `brevet_bench_${randomBytes(4).toString('hex')}`;
  await run(ADMIN_URL, `create database ${name}`);
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
    started = Date.now();
    await run(url.toString(), 'vacuum (analyze) audit_events');
    console.log(`vacuum (analyze) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const app = await buildApp(deps);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const headers = { authorization: `Bearer ${adminKey}` };
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;
    const range = (days: number) => () => {
      const from = new Date(Date.now() - Math.random() * (90 - days) * 86_400_000);
      return `from=${from.toISOString()}&to=${new Date(from.getTime() + days * 86_400_000).toISOString()}`;
    };

    const queries: [string, () => string][] = [
      ['requestId', () => `requestId=${pick(ids.requests).id}`],
      ['actor', () => `actor=${pick(ids.principals)}`],
      ['action', () => 'action=credentials.issued'],
      ['profileId+action', () => `profileId=${pick(ids.profiles)}&action=request.created`],
      ['from/to (1 day)', range(1)],
      ['from/to (1 day), order=desc', () => `${range(1)()}&order=desc`],
      ['from/to (7 days)', range(7)],
    ];
    for (const [label, query] of queries) {
      const get = async () => {
        const response = await fetch(`${base}/v1/audit?${query()}&limit=100`, { headers });
        await response.json();
        if (!response.ok) throw new Error(`query ${label} answered ${response.status}`);
      };
      for (let i = 0; i < WARM_UP; i += 1) await get();
      const times: number[] = [];
      for (let i = 0; i < QUERIES; i += 1) {
        const t0 = performance.now();
        await get();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      console.log(
        `GET /v1/audit?${label}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms (${times.length} requests)`,
      );
    }

    // The export, server side: the generator alone, as the route streams it (this also warms the cache).
    const admin: Caller = { id: 'bench', kind: 'service', email: null, displayName: 'bench', groups: [], amr: [], via: 'api-key', isAdmin: true, isAuditor: false, sourceIp: null };
    started = performance.now();
    let lines = 0;
    for await (const chunk of exportAudit({ db: deps.db }, admin, {}, 'ndjson')) {
      for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) lines += 1;
    }
    let seconds = (performance.now() - started) / 1000;
    console.log(`export generator (server side, no HTTP): ${lines} events in ${seconds.toFixed(1)} s = ${Math.round(lines / seconds).toLocaleString('en-US')} events/s`);

    // The export over HTTP, read by a client in another process.
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    ({ lines, seconds } = await readElsewhere(`${base}/v1/audit/export?format=ndjson`, headers));
    clearInterval(sampler);
    console.log(
      `GET /v1/audit/export ndjson: ${lines} events in ${seconds.toFixed(1)} s = ${Math.round(lines / seconds).toLocaleString('en-US')} events/s; ` +
        `server process RSS ${MiB(rssBefore)} before, ${MiB(rssPeak)} peak`,
    );
    await app.close();
  } finally {
    await deps.close();
    if (process.env['BENCH_KEEP_DB'] === undefined) await run(ADMIN_URL, `drop database if exists ${name} with (force)`);
    else console.log(`kept database ${name}`);
  }
}
