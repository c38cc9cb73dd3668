import { randomBytes } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { jobId, type JobName } from '../../src/jobs/catalog.js';
import type { JobQueue } from '../../src/jobs/queue.js';
import { createJobWorker, type WorkerOptions } from '../../src/jobs/worker-runner.js';
import type { TestApp } from './app.js';

/** The machine's Redis. Tests never flush it: each uses keys under its own prefix and deletes only those. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A Redis key prefix nobody else uses, for one test file's queue. */
export function testQueuePrefix(): string {
  return `brevet-test-${randomBytes(6).toString('hex')}`;
}

/** What startTestApp needs for a BullMQ queue under `prefix`, with fast webhook retries. */
export function queueAppOptions(prefix: string, env: Record<string, string> = {}) {
  return { env: { REDIS_URL: TEST_REDIS_URL, ...env }, overrides: { queuePrefix: prefix, notifyBackoffMs: 50 } };
}

export function schedulerOf(t: TestApp): JobQueue {
  if (t.deps.scheduler === undefined) throw new Error('this test app has no queue: pass REDIS_URL');
  return t.deps.scheduler;
}

/** A worker of the real catalog (createJobWorker) on the app's queue, built from the app's deps. */
export function startWorker(t: TestApp, prefix: string, options: Omit<WorkerOptions, 'redisUrl' | 'prefix'> = {}): Worker {
  const scheduler = schedulerOf(t);
  return createJobWorker({ ...t.deps, scheduler }, { redisUrl: TEST_REDIS_URL, prefix, ...options }, t.deps.logger);
}

/** The job of `name` for a request, by its deterministic id; undefined when there is none. */
export async function jobOf(t: TestApp, name: JobName, requestId: string): Promise<Job | undefined> {
  return schedulerOf(t).queue.getJob(jobId({ name, payload: { requestId } }));
}

/** Moves a delayed job to the wait list now, as if its delay had passed; fails when there is no such job. */
export async function promote(t: TestApp, name: JobName, requestId: string): Promise<void> {
  const job = await jobOf(t, name, requestId);
  if (job === undefined) throw new Error(`no ${name} job for ${requestId}`);
  await job.promote();
}

/**
 * "Flushing Redis" for a test: deletes every key under the prefix (SCAN + DEL), and nothing
 * else — other tests and other programs share this Redis. Returns how many keys went.
 */
export async function deleteKeysWithPrefix(prefix: string, redisUrl = TEST_REDIS_URL): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}
