import { ConfigError, loadConfig } from './config.js';
import { buildDeps } from './deps.js';
import { startSealing } from './audit/sealing.js';
import { createJobWorker } from './jobs/worker-runner.js';
import { rescheduleOpenRequests, startReconcilerLoop } from './jobs/reconciler.js';
import { SHUTDOWN_GRACE_MS, exitOnSignals, withGrace } from './lib/graceful-shutdown.js';
import { createLogger } from './logging.js';
import { countCatchups } from './metrics/observe.js';

/**
 * How often each worker sweeps the database for due work. A process timer, not a queue job:
 * a flushed Redis must not stop the sweep that makes a flushed Redis harmless. Concurrent
 * sweeps of several workers are safe (row locks, idempotent handlers) and cheap (indexed).
 */
const RECONCILE_EVERY_MS = 5_000;

/**
 * Process entry of the worker: runs the timed jobs from Redis (BullMQ) and the periodic
 * database sweep (reconciler). It needs DATABASE_URL and REDIS_URL; without Redis the API process does this work.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`brevet worker: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (config.databaseUrl === undefined || config.redisUrl === undefined) {
    process.stderr.write('brevet worker: configuration error: DATABASE_URL and REDIS_URL are required for the worker\n');
    process.exit(1);
  }
  const logger = createLogger(config.logLevel).child({ component: 'worker' });
  const deps = buildDeps(config, logger);
  if (config.migrateOnStart) await deps.database.migrate();
  const scheduler = deps.scheduler!;

  const rescheduled = await rescheduleOpenRequests(deps, scheduler);
  const worker = createJobWorker({ ...deps, scheduler }, { redisUrl: config.redisUrl, metrics: deps.metrics }, logger);
  const sweeps = startReconcilerLoop({ ...deps, scheduler, logger: logger.child({ component: 'reconciler' }) }, RECONCILE_EVERY_MS, (report) =>
    countCatchups(deps.metrics, report),
  );
  const sealing = startSealing(deps);
  // The API's /metrics shows what this worker observed (src/metrics/worker-snapshots.ts).
  const publishing = deps.metricsSnapshots?.publishEvery(deps.metrics.registry);
  logger.info({ rescheduled }, 'worker started');

  exitOnSignals(logger, async () => {
    // Stops taking jobs and waits for the running ones, whose locks are then released cleanly. A
    // job still running after the grace period is abandoned: BullMQ's stall check hands it to
    // another worker, and every handler is idempotent.
    await sweeps.stop();
    await sealing.stop();
    await withGrace(worker.close(), SHUTDOWN_GRACE_MS, () => {
      logger.warn('jobs still running after the grace period: abandoning them to another worker');
      void worker.close(true);
    });
    await publishing?.stop();
    await deps.close();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`brevet worker: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
