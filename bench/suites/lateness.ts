import { and, eq } from 'drizzle-orm';
import { loadConfig } from '../../src/config.js';
import { requests } from '../../src/db/schema.js';
import { buildDeps } from '../../src/deps.js';
import { jobId } from '../../src/jobs/catalog.js';
import { createLogger } from '../../src/logging.js';
import { BrevetClient, startBrevet, startWorker } from '../lib/brevet.js';
import { inParallel, ms, summarise } from '../lib/measure.js';
import type { BenchProcess } from '../lib/processes.js';
import { BENCH_REDIS_URL, createBenchDatabase, openBenchRedis, sql } from '../lib/services.js';

const WINDOWS = Number(process.env['BENCH_WINDOWS'] ?? '10000');
const SPREAD_MS = 60_000;
const WORKERS = Number(process.env['BENCH_WORKERS'] ?? '1');

export interface Lateness {
  activation: ReturnType<typeof summarise>;
  end: ReturnType<typeof summarise>;
}

/** Lateness in ms (committed event minus due time) of every `action` event of the given requests. */
async function latenessOf(url: string, action: 'request.activated' | 'request.ended', column: 'starts_at' | 'ends_at'): Promise<number[]> {
  const { rows } = await sql(
    url,
    `select extract(epoch from (a.occurred_at - r.${column})) * 1000 as late from audit_events a join requests r on r.id = a.request_id where a.action = '${action}'`,
  );
  return rows.map((row: { late: string }) => Number(row.late));
}

async function waitForCount(url: string, action: string, count: number, deadline: number): Promise<void> {
  for (;;) {
    const { rows } = await sql(url, `select count(*)::int as n from audit_events where action = '${action}'`);
    if ((rows[0] as { n: number }).n >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${(rows[0] as { n: number }).n} of ${count} ${action} events before the deadline`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/**
 * 10,000 windows starting inside one minute, run by worker processes from Redis delayed jobs (Redis
 * `hz 100`): how late each activation and each end commits. Requests are created through the API
 * (auto-approved, scheduled ahead); for the ends, the windows are then shortened in the database
 * and their end jobs re-scheduled, as test/jobs/real-timing does — STS's 900 s minimum would
 * otherwise make the run last a quarter of an hour.
 */
export async function activationLateness(): Promise<Lateness> {
  const db = await createBenchDatabase('lateness');
  const redis = await openBenchRedis();
  const workers: BenchProcess[] = [];
  const logger = createLogger('warn');
  const deps = buildDeps(loadConfig({ DATABASE_URL: db.url, REDIS_URL: BENCH_REDIS_URL }), logger);
  try {
    const { api, adminKey } = await startBrevet(db.url);
    try {
      for (let i = 0; i < WORKERS; i += 1) workers.push(await startWorker(db.url));
      const admin = new BrevetClient(api.url, adminKey);
      await admin.profile('bench-auto', { required: 0 });
      const requester = admin.as((await admin.person('requester', ['bench-dev'])).key);

      // Creation must finish a minute before the first window starts: a start less than a minute
      // ahead is no schedule (create-request.ts starts it at once). Allow 20 ms a request on top.
      const firstStart = Date.now() + 65_000 + WINDOWS * 20;
      let started = Date.now();
      const ids = await inParallel(WINDOWS, 20, async (i) => {
        const startsAt = new Date(firstStart + Math.floor((i * SPREAD_MS) / WINDOWS)).toISOString();
        const created = await requester.call<{ id: string; status: string }>('POST', '/v1/requests', { profile: 'bench-auto', durationSeconds: 900, justification: 'lateness', startsAt });
        return created.id;
      });
      console.log(`  created ${WINDOWS} scheduled windows in ${((Date.now() - started) / 1000).toFixed(1)} s; the first starts in ${((firstStart - Date.now()) / 1000).toFixed(0)} s`);
      if (Date.now() > firstStart - 60_000) throw new Error('creating the windows took longer than the lead time (some started at once); lower BENCH_WINDOWS');
      await waitForCount(db.url, 'request.activated', WINDOWS, firstStart + SPREAD_MS + 120_000);
      const activation = summarise(await latenessOf(db.url, 'request.activated', 'starts_at'));
      console.log(`  activation lateness: p50 ${ms(activation.p50)}, p99 ${ms(activation.p99)}, max ${ms(activation.max)} (${activation.count} windows, ${WORKERS} worker)`);

      const firstEnd = Date.now() + 30_000 + WINDOWS * 2;
      started = Date.now();
      await inParallel(ids.length, 50, async (i) => {
        const id = ids[i]!;
        const endsAt = new Date(firstEnd + Math.floor((i * SPREAD_MS) / WINDOWS));
        await deps.db.update(requests).set({ endsAt }).where(and(eq(requests.id, id), eq(requests.status, 'active')));
        await (await deps.scheduler!.queue.getJob(jobId({ name: 'end', payload: { requestId: id } })))?.remove();
        await deps.effects.afterCommit(await deps.effects.record(deps.db, { requestId: id, events: [] }));
      });
      console.log(`  moved ${ids.length} ends inside one minute in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await waitForCount(db.url, 'request.ended', WINDOWS, firstEnd + SPREAD_MS + 120_000);
      const end = summarise(await latenessOf(db.url, 'request.ended', 'ends_at'));
      console.log(`  end lateness: p50 ${ms(end.p50)}, p99 ${ms(end.p99)}, max ${ms(end.max)}`);
      return { activation, end };
    } finally {
      for (const worker of workers) await worker.stop();
      await api.stop();
    }
  } finally {
    await deps.close();
    await redis.release();
    await db.drop();
  }
}
