// Real time, no injected clock: a window ends within 2 s of its endsAt when a worker runs
// (SPEC §5: a BullMQ delay is a lower bound, so "on time" means "soon after, never before").
import type { Worker } from 'bullmq';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requests } from '../../src/db/schema.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { deleteKeysWithPrefix, jobOf, queueAppOptions, startWorker, testQueuePrefix } from '../support/queue.js';
import { auditOf, createProfile, openRequest, requestRow, waitForStatus } from './helpers.js';

const prefix = testQueuePrefix();
let t: TestApp;
let worker: Worker;

beforeAll(async () => {
  t = await startTestApp({ ...queueAppOptions(prefix), realClock: true });
  worker = startWorker(t, prefix);
  await worker.waitUntilReady();
});

afterAll(async () => {
  await worker?.close();
  await t?.close();
  await deleteKeysWithPrefix(prefix);
});

describe('a window on the system clock', () => {
  it('ends no later than 2 s after endsAt, and not before', async () => {
    const requester = await t.principal({ groups: ['dev'] });
    const profile = await createProfile(t, { required: 0 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    expect(request.status).toBe('active');

    // Shorten the window to 2 s from now (STS would refuse such a short one; the job does not care),
    // and replace the end job scheduled for the original end.
    const endsAt = new Date(Date.now() + 2_000);
    await t.deps.db.update(requests).set({ endsAt }).where(eq(requests.id, request.id));
    await (await jobOf(t, 'end', request.id))?.remove();
    await t.deps.effects.afterCommit(await t.deps.effects.record(t.deps.db, { requestId: request.id, events: [] }));
    expect(await (await jobOf(t, 'end', request.id))?.getState()).toBe('delayed');

    await waitForStatus(t, request.id, 'ended', 2_000 + 5_000);
    const [ended] = await auditOf(t, request.id, 'request.ended');
    const lateMs = ended!.occurredAt.getTime() - (await requestRow(t, request.id)).endsAt!.getTime();
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThanOrEqual(2_000);
  });
});
