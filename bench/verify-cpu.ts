// What GET /v1/audit/verify costs per event, in CPU time as well as wall time, so that a change can
// be judged while other processes load the machine: verifyAudit runs in this process (no HTTP)
// over a trail of N sealed, signed events, and the CPU time of this process (all its threads) and of
// the PostgreSQL backends serving the database is divided by the events checked.
//   npm run build && npx tsx bench/verify-cpu.ts      N=300000 events, RUNS=3
//   VERIFY_DB_URL=postgres://… npx tsx bench/verify-cpu.ts   (a database seeded and kept by a run before;
//   drop it after with `drop database`); VERIFY_BATCHES=1 reads the events as PGlite does, in keyset batches;
//   VERIFY_PARTS=n verifies in n threads at most (default: the cores)
import { readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../src/adapters/clock.js';
import { createSealer } from '../src/audit/sealer.js';
import { blockSigner, parseSigningKey } from '../src/audit/signing-key.js';
import { openPostgres } from '../src/db/client.js';
import type * as VerifyTrail from '../src/audit/verify-trail.js';
import type { Caller } from '../src/domain/caller.js';
import { seedAuditEvents } from '../scripts/seed-audit-events.js';
import { ADMIN_URL, createBenchDatabase, sql } from './lib/services.js';

// The built code, as `npm run bench` runs it (tsx's transform adds a little to every function call).
const built = new URL('../dist/audit/verify-trail.js', import.meta.url).href;
const { verifyAudit } = (await import(built)) as typeof VerifyTrail;

const N = Number(process.env['N'] ?? '300000');
const RUNS = Number(process.env['RUNS'] ?? '3');

/** CPU time (user + system) a process has used so far, in ms. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};
/** CPU of the PostgreSQL backends (and their parallel workers) serving `database`. */
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

const admin: Caller = { id: 'bench', kind: 'service', email: null, displayName: 'bench', groups: [], amr: [], via: 'api-key', isAdmin: true, isAuditor: false, sourceIp: null };
/** The signing key of a kept database, beside it in the temporary directory. */
const keyFile = (databaseUrl: string) => path.join(tmpdir(), `${new URL(databaseUrl).pathname.slice(1)}.pem`);

let url = process.env['VERIFY_DB_URL'];
let signer = url === undefined ? blockSigner(generateKeyPairSync('ed25519').privateKey) : blockSigner(parseSigningKey(readFileSync(keyFile(url), 'utf8')));
if (url === undefined) {
  const created = await createBenchDatabase('verify');
  url = created.url;
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  writeFileSync(keyFile(url), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  signer = blockSigner(privateKey);
  const database = openPostgres(url);
  await database.migrate();
  const started = performance.now();
  await seedAuditEvents(url, N);
  await createSealer({ db: database.db, clock: systemClock, signer }).catchUp();
  await sql(url, 'vacuum analyze audit_events');
  await database.close();
  console.log(`seeded and sealed ${N} events in ${((performance.now() - started) / 1000).toFixed(1)} s: VERIFY_DB_URL=${url}`);
}
const database = openPostgres(url);
const name = new URL(url).pathname.slice(1);
const deps = { db: database.db, database: process.env['VERIFY_BATCHES'] === undefined ? database : undefined, auditSigner: signer };
for (let run = 0; run < RUNS; run++) {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const pgBefore = await backendsCpu(name);
  // Backends that a verification opens and closes (its worker threads') are seen by sampling: the
  // last CPU time seen of each (up to 100 ms of a backend's end can be missed).
  const pgSeen = new Map(pgBefore);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const [pid, ms] of await backendsCpu(name)) pgSeen.set(pid, ms);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const report = await verifyAudit(deps, admin, process.env['VERIFY_PARTS'] === undefined ? {} : { parts: Number(process.env['VERIFY_PARTS']) });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  sampling = false;
  await sampler;
  for (const [pid, ms] of await backendsCpu(name)) pgSeen.set(pid, ms);
  const pgUsed = usedSince(pgBefore, pgSeen);
  const nodeMs = (cpu.user + cpu.system) / 1000;
  const per = (ms: number) => ((ms * 1000) / report.checked).toFixed(2);
  console.log(
    `${report.ok ? 'ok' : `BROKEN ${report.problem}`}: ${report.checked} events, ${report.blocks} blocks, ${report.unsigned} unsigned in ${seconds.toFixed(2)} s = ${Math.round(report.checked / seconds).toLocaleString('en-US')} events/s; ` +
      `CPU per event: node ${per(nodeMs)} µs + PostgreSQL ${per(pgUsed)} µs = ${per(nodeMs + pgUsed)} µs (load ${load})`,
  );
}
await database.close();
