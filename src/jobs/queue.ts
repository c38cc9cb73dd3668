import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Clock } from '../adapters/clock.js';
import { withTimeout } from '../lib/with-timeout.js';
import { NOTIFY_ATTEMPTS, jobId, type ScheduledJob } from './catalog.js';

export const QUEUE_NAME = 'brevet';

/** Where jobs go: BullMQ in production, nothing in dev mode (the reconciler polls instead). */
export interface JobScheduler {
  schedule(job: ScheduledJob): Promise<void>;
  /**
   * Schedules `job` at its (new) time even when a job of that id already waits for an older one:
   * a moved window end (SPEC §12 extensions) moves its `end` job, instead of leaving it to fire
   * early and find nothing to do.
   */
  reschedule(job: ScheduledJob): Promise<void>;
  /**
   * Jobs no failed job can stand in the way of: their ids were never used (those of a request or
   * delivery rows the caller's transaction just created), or only by jobs whose moment has not
   * come (adding one of those again is a no-op). They are added in one round trip. A caller
   * need not wait for them: close() waits for every scheduleNew still in flight.
   */
  scheduleNew(jobs: readonly ScheduledJob[]): Promise<void>;
}

export interface JobQueue extends JobScheduler {
  queue: Queue;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface QueueOptions {
  redisUrl: string;
  /** Redis key prefix; tests use their own. */
  prefix?: string;
  /** First retry delay of notify jobs; tests shorten it. */
  notifyBackoffMs: number;
}

/** BullMQ needs `maxRetriesPerRequest: null` on the connections of workers (STACK.md). */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** How long scheduling may wait for Redis before giving up (the reconciler catches up). */
const SCHEDULE_TIMEOUT_MS = 2_000;

export function createJobQueue(options: QueueOptions, clock: Clock): JobQueue {
  // The producer side fails fast: with Redis down, a state change must still answer (its work
  // is in the database, where the reconciler finds it), not wait for Redis forever.
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
  connection.on('error', () => {}); // Surfaces as failed calls and in /readyz, not as a crash.
  const queue = new Queue(QUEUE_NAME, { connection, prefix: options.prefix ?? 'brevet' });
  queue.on('error', () => {});

  const optionsOf = (job: ScheduledJob) => {
    const notify = job.name === 'notify';
    return {
      jobId: jobId(job),
      delay: Math.max(0, job.runAt.getTime() - clock.now().getTime()),
      // Completed jobs are dropped so the same id can be scheduled again later (e.g. a new end time).
      removeOnComplete: true,
      removeOnFail: 1000,
      attempts: notify ? NOTIFY_ATTEMPTS : 5,
      backoff: { type: 'exponential', delay: notify ? options.notifyBackoffMs : 1_000 },
    };
  };

  const add = async (job: ScheduledJob) => {
    const opts = optionsOf(job);
    // A job that failed for good keeps its id (kept for inspection) and BullMQ would ignore a new
    // add under it, so the reconciler could never re-enqueue that work (e.g. a delivery after a
    // database outage outlasting its retries). The caller schedules only work the database says
    // is still due, so the old failure makes way.
    const previous = await queue.getJob(opts.jobId);
    if (previous !== undefined && (await previous.isFailed())) await previous.remove();
    await queue.add(job.name, job.payload, opts);
  };

  const addNew = async (jobs: readonly ScheduledJob[]) => {
    // One job is one script call; several go in one MULTI (a pipeline costs more CPU to build).
    if (jobs.length === 1) await queue.add(jobs[0]!.name, jobs[0]!.payload, optionsOf(jobs[0]!));
    else if (jobs.length > 1) await queue.addBulk(jobs.map((job) => ({ name: job.name, data: job.payload, opts: optionsOf(job) })));
  };

  // The jobs of scheduleNew calls made in one turn of the event loop go to Redis together, in one
  // round trip: under load the commands that commit together (their answers read in one go) share
  // one MULTI instead of a write, a read and a script call each.
  type Batch = { jobs: ScheduledJob[]; settle: ((error?: unknown) => void)[] };
  let batch: Batch | undefined;
  // Callers may not wait for their jobs (request-effects.ts); close() waits for them instead.
  const unsettled = new Set<Promise<void>>();
  const addNewTogether = (jobs: readonly ScheduledJob[]) => {
    const added = new Promise<void>((resolve, reject) => {
      if (jobs.length === 0) return resolve();
      if (batch === undefined) {
        const taken: Batch = { jobs: [], settle: [] };
        batch = taken;
        setImmediate(() => {
          batch = undefined;
          addNew(taken.jobs).then(
            () => taken.settle.forEach((settle) => settle()),
            (error: unknown) => taken.settle.forEach((settle) => settle(error)),
          );
        });
      }
      batch.jobs.push(...jobs);
      batch.settle.push((error) => (error === undefined ? resolve() : reject(error)));
    });
    unsettled.add(added);
    const forget = () => unsettled.delete(added);
    added.then(forget, forget);
    return added;
  };

  const move = async (job: ScheduledJob) => {
    const previous = await queue.getJob(jobId(job));
    // A job already running (locked) cannot be removed; it re-reads the database and, finding the
    // end not yet due, runs again at the moment the database says (the handlers' "later").
    if (previous !== undefined && (await previous.isDelayed())) await previous.remove().catch(() => undefined);
    await add(job);
  };

  return {
    queue,
    schedule: (job) => withTimeout(add(job), SCHEDULE_TIMEOUT_MS, 'scheduling a job'),
    reschedule: (job) => withTimeout(move(job), SCHEDULE_TIMEOUT_MS, 'rescheduling a job'),
    scheduleNew: (jobs) => withTimeout(addNewTogether(jobs), SCHEDULE_TIMEOUT_MS, 'scheduling jobs'),
    ping: () => withTimeout(connection.ping().then(() => undefined), SCHEDULE_TIMEOUT_MS, 'Redis ping'),
    async close() {
      // Jobs handed over by callers that did not wait, within the same bound as theirs.
      await withTimeout(Promise.allSettled(unsettled), SCHEDULE_TIMEOUT_MS, 'scheduling before close').catch(() => undefined);
      await queue.close();
      await connection.quit().catch(() => {});
    },
  };
}

