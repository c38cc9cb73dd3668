// Workers die and stop (SPEC §5, STYLE "BullMQ's own guidance"): a job whose worker was killed
// mid-run is found stalled and retried, and its transition still happens exactly once; a
// worker asked to stop finishes the job it is running first.
import { Worker } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobName, JobPayload } from '../../src/jobs/catalog.js';
import { runJob } from '../../src/jobs/handlers.js';
import { QUEUE_NAME, redisConnection } from '../../src/jobs/queue.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL, deleteKeysWithPrefix, jobOf, promote, queueAppOptions, startWorker, testQueuePrefix } from '../support/queue.js';
import { actionCounts, at, createProfile, openRequest, reconcileDeps, statusOf, until, waitForStatus } from './helpers.js';

/**
 * Short locks and stall checks, for every worker of this file: BullMQ skips a stall check while
 * another worker's last one is younger than that worker's stalledInterval, so one default
 * worker (30 s) on the prefix would hide a stalled job for half a minute.
 */
const FAST_STALLS = { lockDuration: 1_000, stalledInterval: 250, maxStalledCount: 1 };

const prefix = testQueuePrefix();
let t: TestApp;
let requester: { id: string; key: string };
let profileName: string;
const workers: Worker[] = [];

beforeAll(async () => {
  t = await startTestApp(queueAppOptions(prefix));
  requester = await t.principal({ groups: ['dev'] });
  profileName = (await createProfile(t, { required: 0 })).name;
});

afterAll(async () => {
  // Force: the crashed workers' processors never return.
  await Promise.all(workers.map((worker) => worker.close(true)));
  await t?.close();
  await deleteKeysWithPrefix(prefix);
});

/** An active request whose window has passed: its end job is due. */
async function dueWindow(): Promise<string> {
  const request = await openRequest(t, requester.key, { profile: profileName });
  t.clock.set(new Date(at(request.endsAt) + 1_000));
  return request.id;
}

/**
 * A worker that takes one job and then hangs forever, as a process killed mid-job would:
 * before the handler runs, or after it committed but before BullMQ heard back.
 */
function startDoomedWorker(hangs: 'before-work' | 'after-work') {
  const connection = redisConnection(TEST_REDIS_URL);
  let took!: (jobId: string) => void;
  const holding = new Promise<string>((resolve) => (took = resolve));
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      if (hangs === 'after-work') await runJob(reconcileDeps(t), job.name as JobName, job.data as JobPayload);
      took(job.id!);
      await new Promise<never>(() => {});
    },
    { connection, prefix, concurrency: 1, ...FAST_STALLS },
  );
  workers.push(worker);
  return {
    worker,
    holding,
    /** Gone without finishing its job or releasing its lock. */
    async kill() {
      await worker.close(true);
      connection.disconnect();
    },
  };
}

function startRecoveringWorker() {
  const worker = startWorker(t, prefix, { timings: FAST_STALLS });
  workers.push(worker);
  const stalled: string[] = [];
  worker.on('stalled', (jobId) => stalled.push(jobId));
  return { worker, stalled };
}

async function waitUntilGone(name: JobName, requestId: string): Promise<void> {
  await until(async () => ((await jobOf(t, name, requestId)) === undefined ? true : undefined), 10_000, `the ${name} job to complete`);
}

describe('a worker killed mid-job', () => {
  it('before the work: the stalled job is retried by another worker and ends the window once', async () => {
    const requestId = await dueWindow();
    const doomed = startDoomedWorker('before-work');
    await doomed.worker.waitUntilReady();
    await promote(t, 'end', requestId);
    const jobId = await doomed.holding;
    expect(await (await jobOf(t, 'end', requestId))?.getState()).toBe('active');
    await doomed.kill();
    expect(await statusOf(t, requestId)).toBe('active');

    const recovering = startRecoveringWorker();
    await waitForStatus(t, requestId, 'ended');
    await waitUntilGone('end', requestId);
    expect(recovering.stalled).toContain(jobId);
    expect((await actionCounts(t, requestId))['request.ended']).toBe(1);
    await recovering.worker.close();
  });

  it('after the work committed: the retry finds nothing to do and the window ended once', async () => {
    const requestId = await dueWindow();
    const doomed = startDoomedWorker('after-work');
    await doomed.worker.waitUntilReady();
    await promote(t, 'end', requestId);
    const jobId = await doomed.holding;
    expect(await statusOf(t, requestId)).toBe('ended');
    await doomed.kill();

    const recovering = startRecoveringWorker();
    await until(async () => (recovering.stalled.includes(jobId) ? true : undefined), 10_000, 'the stalled job to be picked up');
    await waitUntilGone('end', requestId);
    expect(await statusOf(t, requestId)).toBe('ended');
    expect((await actionCounts(t, requestId))['request.ended']).toBe(1);
    await recovering.worker.close();
  });
});

describe('graceful shutdown', () => {
  it('worker.close() waits for the running job to finish', async () => {
    const requestId = await dueWindow();
    // Hold the request's row lock so the end job blocks inside its transaction.
    const blocker = new pg.Client({ connectionString: t.database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM requests WHERE id = $1 FOR UPDATE', [requestId]);

      const worker = startWorker(t, prefix, { timings: FAST_STALLS });
      workers.push(worker);
      await promote(t, 'end', requestId);
      await until(
        async () => {
          const { rows } = await blocker.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          );
          return rows[0]!.n > 0 ? true : undefined;
        },
        10_000,
        'the end job to wait for the row lock',
      );

      let closed = false;
      const closing = worker.close().then(() => (closed = true));
      // The job cannot finish while the row is locked, so a close that waits cannot be done yet.
      expect(await (await jobOf(t, 'end', requestId))?.getState()).toBe('active');
      expect(closed).toBe(false);

      await blocker.query('COMMIT');
      await closing;
      // Resolved only after the job: its transition committed and the job completed cleanly.
      expect(await statusOf(t, requestId)).toBe('ended');
      expect(await jobOf(t, 'end', requestId)).toBeUndefined();
      expect((await actionCounts(t, requestId))['request.ended']).toBe(1);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
    }
  });
});
