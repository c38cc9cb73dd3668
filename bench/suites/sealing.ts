import { generateKeyPairSync } from 'node:crypto';
import { BrevetClient, startBrevet, startWorker } from '../lib/brevet.js';
import { summarise } from '../lib/measure.js';
import { createBenchDatabase, openBenchRedis, sql } from '../lib/services.js';
import { seedAuditEvents } from '../../scripts/seed-audit-events.js';
import { load, SECONDS } from './throughput.js';

/** Events seeded (and sealed) before `GET /v1/audit/verify` is timed. */
const VERIFY_EVENTS = Number(process.env['BENCH_VERIFY_EVENTS'] ?? '300000');

export interface Sealing {
  lag: { p50: number; p99: number; max: number; count: number };
  createPerSecond: number;
  verifyPerSecond: number;
}

/**
 * SPEC §11 at scale: the sealing lag (an event's sealedAt minus its occurredAt) under the
 * sustained create load of the throughput suite, with the sealer in a worker process as in
 * production; then the throughput of GET /v1/audit/verify over a trail of VERIFY_EVENTS sealed,
 * signed events.
 */
export async function sealing(): Promise<Sealing> {
  const db = await createBenchDatabase('sealing');
  const redis = await openBenchRedis();
  const env = { BREVET_AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  try {
    const { api, adminKey } = await startBrevet(db.url, env);
    const worker = await startWorker(db.url, env);
    try {
      const admin = new BrevetClient(api.url, adminKey);
      await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
      const requester = await admin.person('requester', ['bench-dev']);
      // The worker's sealer is up (it has sealed the set-up) before the load starts.
      await sealedThrough(db.url, await maxId(db.url));
      const before = await maxId(db.url);
      const body = JSON.stringify({ profile: 'bench', durationSeconds: 900, justification: 'benchmark load' });
      const created = await load(api.url, '/v1/requests', { authorization: `Bearer ${requester.key}` }, body, SECONDS);
      const after = await maxId(db.url);
      await sealedThrough(db.url, after);
      const { rows } = await sql(
        db.url,
        `select extract(epoch from b.sealed_at - e.occurred_at) * 1000 as lag from audit_events e
         join audit_blocks b on e.id between b.first_event_id and b.last_event_id where e.id > ${before} and e.id <= ${after}`,
      );
      const lag = summarise(rows.map((r: { lag: string }) => Number(r.lag)));
      console.log(`  sealing lag under ${Math.round(created.perSecond)} creates/s: p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms, max ${lag.max.toFixed(0)} ms (${lag.count} events)`);

      await seedAuditEvents(db.url, VERIFY_EVENTS);
      await sealedThrough(db.url, await maxId(db.url));
      await sql(db.url, 'vacuum analyze audit_events');
      await admin.call('GET', '/v1/audit/verify');
      const started = performance.now();
      const report = await admin.call<{ ok: boolean; checked: number; blocks: number }>('GET', '/v1/audit/verify');
      const seconds = (performance.now() - started) / 1000;
      if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report)}`);
      const verifyPerSecond = report.checked / seconds;
      console.log(`  GET /v1/audit/verify: ${report.checked.toLocaleString('en-US')} events, ${report.blocks} blocks in ${seconds.toFixed(2)} s: ${Math.round(verifyPerSecond).toLocaleString('en-US')} events/s`);
      return { lag, createPerSecond: created.perSecond, verifyPerSecond };
    } finally {
      await worker.stop();
      await api.stop();
    }
  } finally {
    await redis.release();
    await db.drop();
  }
}

async function maxId(url: string): Promise<string> {
  const { rows } = await sql(url, 'select coalesce(max(id), 0)::text as id from audit_events');
  return (rows[0] as { id: string }).id;
}

/** Waits (up to a minute) until the worker's sealer has sealed every event up to `id`. */
async function sealedThrough(url: string, id: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await sql(url, 'select coalesce(max(last_event_id), 0)::text as id from audit_blocks');
    if (BigInt((rows[0] as { id: string }).id) >= BigInt(id)) return;
    if (Date.now() > deadline) throw new Error(`events up to ${id} not sealed within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
