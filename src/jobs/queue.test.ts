// scheduleNew against a real Redis: the jobs of calls made in one turn of the event loop, added
// together, are each there, delayed to their time, once every call has answered.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from './queue.js';
import type { ScheduledJob } from './catalog.js';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = `brevet-test-${randomBytes(4).toString('hex')}`;
const clock = { now: () => new Date('2026-12-03T12:00:00Z') };
let jobs: JobQueue;
let redis: Redis;

beforeAll(() => {
  jobs = createJobQueue({ redisUrl: REDIS_URL, prefix, notifyBackoffMs: 10 }, clock);
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await jobs?.queue.obliterate({ force: true });
  await jobs?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const expireJob = (requestId: string): ScheduledJob => ({ name: 'expire-pending', payload: { requestId }, runAt: new Date('2026-12-03T13:00:00Z') });

describe('scheduleNew', () => {
  it('adds the jobs of calls made in one turn together, each delayed to its time', async () => {
    await jobs.scheduleNew([expireJob('req_warm')]);
    await Promise.all(Array.from({ length: 10 }, (_, i) => jobs.scheduleNew([expireJob(`req_batch${i}`)])));
    for (let i = 0; i < 10; i++) {
      const job = await jobs.queue.getJob(`expire-pending-req_batch${i}`);
      expect(job?.data).toEqual({ requestId: `req_batch${i}` });
      expect(await job?.isDelayed()).toBe(true);
      expect(job?.opts.delay).toBe(3_600_000);
    }
  });

  it('answers a call with no jobs at once, and adds the jobs of calls made one after another', async () => {
    await jobs.scheduleNew([]);
    await jobs.scheduleNew([expireJob('req_first')]);
    await jobs.scheduleNew([expireJob('req_second'), expireJob('req_third')]);
    expect(await jobs.queue.getJob('expire-pending-req_first')).toBeDefined();
    expect(await jobs.queue.getJob('expire-pending-req_second')).toBeDefined();
    expect(await jobs.queue.getJob('expire-pending-req_third')).toBeDefined();
  });
});

describe('close', () => {
  it('waits for the jobs of scheduleNew calls nobody waited for', async () => {
    const other = createJobQueue({ redisUrl: REDIS_URL, prefix, notifyBackoffMs: 10 }, clock);
    void other.scheduleNew([expireJob('req_unwaited')]);
    await other.close();
    expect(await jobs.queue.getJob('expire-pending-req_unwaited')).toBeDefined();
  });
});
