// What one scheduled activation costs the worker, counted rather than timed: the worker talks to
// PostgreSQL and Redis through counting TCP proxies (bench/lib/counting.ts), the API (idle while
// the windows start) directly. N auto-approved requests are created with windows starting inside
// SPREAD_MS; the worker's statements, round trips and Redis commands, and the CPU time of the
// worker process and of the database's PostgreSQL backends, are printed per activation, next to
// what the same worker does idle for as long (its sealer, reconciler and polling). With a short
// SPREAD_MS the activations queue up, and their rate is what one worker sustains (load-dependent).
//   npx tsx bench/count-activate.ts          N=500, SPREAD_MS=2000, COUNT_REDIS_URL=redis://127.0.0.1:6379/12
import { Redis } from 'ioredis';
import { BrevetClient, startBrevet, startWorker } from './lib/brevet.js';
import { backendsCpu, Counts, cpuMs, usedSince } from './lib/counting.js';
import { inParallel, loadAverage, summarise } from './lib/measure.js';
import { createBenchDatabase, sql } from './lib/services.js';

const N = Number(process.env['N'] ?? '500');
const SPREAD_MS = Number(process.env['SPREAD_MS'] ?? '2000');
const counts = new Counts();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const db = await createBenchDatabase('count');
const database = new URL(db.url).pathname.slice(1);
const redisUrl = new URL(process.env['COUNT_REDIS_URL'] ?? 'redis://127.0.0.1:6379/12');
const dbUrl = new URL(db.url);
dbUrl.port = String(await counts.proxyPostgres(5432));
const workerRedis = new URL(redisUrl);
workerRedis.port = String(await counts.proxyRedis(Number(redisUrl.port || 6379)));
const redis = new Redis(redisUrl.toString());
if ((await redis.dbsize()) > 0) throw new Error(`${redisUrl.toString()} is not empty: set COUNT_REDIS_URL to an unused database`);
const [, hz] = (await redis.config('GET', 'hz')) as [string, string];
await redis.config('SET', 'hz', '100');
const activated = async () =>
  ((await sql(db.url, `select count(*)::int as n from audit_events where action = 'request.activated'`)).rows[0] as { n: number }).n;

const { api, adminKey } = await startBrevet(db.url, { REDIS_URL: redisUrl.toString() });
// WORKER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=DIR' profiles the worker.
const worker = await startWorker(dbUrl.toString(), {
  REDIS_URL: workerRedis.toString(),
  ...(process.env['WORKER_NODE_OPTIONS'] === undefined ? {} : { NODE_OPTIONS: process.env['WORKER_NODE_OPTIONS'] }),
});
try {
  console.log(`load average at start: ${loadAverage()}`);
  const admin = new BrevetClient(api.url, adminKey);
  await admin.profile('bench-auto', { required: 0 });
  const requester = admin.as((await admin.person('requester', ['bench-dev'])).key);
  // A start less than a minute ahead is no schedule (create-request.ts: it starts at once).
  const createdFrom = Date.now();
  const firstStart = createdFrom + 65_000 + N * 25;
  await inParallel(N, 20, async (i) => {
    const startsAt = new Date(firstStart + Math.floor((i * SPREAD_MS) / N)).toISOString();
    await requester.call('POST', '/v1/requests', { profile: 'bench-auto', durationSeconds: 900, justification: 'lateness', startsAt });
  });
  const lead = firstStart - Date.now();
  console.log(`created ${N} scheduled windows in ${((Date.now() - createdFrom) / 1000).toFixed(1)} s; the first is due in ${(lead / 1000).toFixed(0)} s`);
  if (lead < 60_000) throw new Error('creating the requests took longer than the lead time: some windows started at once; lower N');

  // The same worker idle, for comparison: its sealer, reconciler sweep and queue polling.
  await sleep(lead - 3_500);
  const idleMs = 3_000;
  let workerBefore = cpuMs(worker.pid);
  let pgBefore = await backendsCpu(database);
  counts.counting = true;
  await sleep(idleMs);
  counts.counting = false;
  const idle = { worker: cpuMs(worker.pid) - workerBefore, pg: usedSince(pgBefore, await backendsCpu(database)) };
  console.log(`idle worker, per second: worker CPU ${((idle.worker * 1000) / idleMs).toFixed(1)} ms, PostgreSQL CPU ${((idle.pg * 1000) / idleMs).toFixed(1)} ms`);
  counts.print(idleMs / 1000, 'per second');
  counts.reset();

  await sleep(Math.max(0, firstStart - Date.now() - 200));
  workerBefore = cpuMs(worker.pid);
  pgBefore = await backendsCpu(database);
  const began = Date.now();
  counts.counting = true;
  while ((await activated()) < N) {
    if (Date.now() > firstStart + SPREAD_MS + 120_000) throw new Error('the activations did not finish within 2 min');
    await sleep(50);
  }
  const lastActivation = Date.now();
  await sleep(1_000); // the last jobs' completion and their after-commit scheduling
  counts.counting = false;
  const phaseMs = Date.now() - began;
  const used = { worker: cpuMs(worker.pid) - workerBefore, pg: usedSince(pgBefore, await backendsCpu(database)) };
  const { rows } = await sql(
    db.url,
    `select extract(epoch from (a.occurred_at - r.starts_at)) * 1000 as late from audit_events a join requests r on r.id = a.request_id where a.action = 'request.activated'`,
  );
  const late = summarise(rows.map((row: { late: string }) => Number(row.late)));
  console.log(
    `${N} activations due inside ${SPREAD_MS} ms, all done ${lastActivation - firstStart} ms after the first was due (${((N * 1000) / Math.max(SPREAD_MS, lastActivation - firstStart)).toFixed(0)}/s); lateness p50 ${late.p50.toFixed(0)} ms, p99 ${late.p99.toFixed(0)} ms`,
  );
  const per = (x: number, idleX: number) => `${(x / N).toFixed(2)} ms (${((x - (idleX * phaseMs) / idleMs) / N).toFixed(2)} ms less idle)`;
  console.log(`per activation: worker CPU ${per(used.worker, idle.worker)}, PostgreSQL CPU ${per(used.pg, idle.pg)}`);
  counts.print(N, 'per activation (idle work included)');
  console.log(`load average at end: ${loadAverage()}`);
} catch (error) {
  console.error(error, worker.stderr());
  process.exitCode = 1;
} finally {
  await worker.stop();
  await api.stop();
  await redis.flushdb();
  await redis.config('SET', 'hz', hz);
  await redis.quit();
  await db.drop();
  process.exit();
}
