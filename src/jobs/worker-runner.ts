import { DelayedError, Worker, type WorkerOptions as BullWorkerOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { JobName, JobPayload } from './catalog.js';
import { runJob } from './handlers.js';
import { QUEUE_NAME, redisConnection } from './queue.js';
import type { Metrics } from '../metrics/catalog.js';
import type { ReconcileDeps } from './reconciler.js';

export interface WorkerOptions {
  redisUrl: string;
  prefix?: string;
  concurrency?: number;
  /** Where job lateness is observed (the worker's and the API's catalog of brevet_* metrics). */
  metrics?: Pick<Metrics, 'jobLatenessSeconds'>;
  /** Lock and stall-check timings (tests shorten them to see a crashed worker's job retried). */
  timings?: Pick<BullWorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>;
}

/**
 * The BullMQ worker: one processor for the whole catalog. BullMQ's lock on each job keeps two
 * workers from running it at once; the row lock and state check in every handler keep a job
 * that runs twice (a retry after a crash) from doing its work twice.
 */
export function createJobWorker(deps: ReconcileDeps, options: WorkerOptions, logger: Logger): Worker {
  const connection = redisConnection(options.redisUrl);
  const worker = new Worker(
    QUEUE_NAME,
    async (job, token) => {
      const name = job.name as JobName;
      const result = await runJob(deps, name, job.data as JobPayload);
      if (result.kind === 'retry') throw new Error(result.reason);
      if (result.kind === 'later') {
        // Early (clocks differ between hosts): run again at the moment, as measured by our clock.
        const waitMs = Math.max(0, result.runAt.getTime() - deps.clock.now().getTime());
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
      // Due → committed: BullMQ's due time is the enqueue time plus the delay (STACK.md pitfall 2).
      options.metrics?.jobLatenessSeconds.observe({ job: name }, Math.max(0, Date.now() - (job.timestamp + (job.opts.delay ?? 0))) / 1000);
      // No child logger per job: building one costs more than the debug line it would serve.
      if (logger.isLevelEnabled('debug')) logger.debug({ jobId: job.id, job: name, attempt: job.attemptsMade + 1 }, 'job done');
    },
    { ...options.timings, connection, prefix: options.prefix ?? 'brevet', concurrency: options.concurrency ?? 5 },
  );
  worker.on('failed', (job, error) => logger.warn({ jobId: job?.id, job: job?.name, err: error }, 'job failed'));
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  worker.on('closed', () => void connection.quit().catch(() => {}));
  return worker;
}
