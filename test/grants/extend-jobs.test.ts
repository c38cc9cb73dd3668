// SPEC §12 with BullMQ (SPEC §5): an approved extension moves its parent's `end` job to the new
// end — the same job id, one job, the new delay — and a worker then ends the window there.
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createProfile } from '../support/api.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { deleteKeysWithPrefix, jobOf, promote, queueAppOptions, startWorker, testQueuePrefix } from '../support/queue.js';
import { deliveriesOf, requestRow, waitForStatus } from '../jobs/helpers.js';

let t: TestApp;
let worker: Worker;
const prefix = testQueuePrefix();

beforeAll(async () => {
  // Webhooks configured (to a port nothing listens on): what matters here is that the delivery is recorded.
  t = await startTestApp(queueAppOptions(prefix, { BREVET_WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', BREVET_WEBHOOK_SECRET: 'whsec-test' }));
  worker = startWorker(t, prefix);
});
afterAll(async () => {
  await worker?.close();
  await t?.close();
  await deleteKeysWithPrefix(prefix);
});

/** When a delayed job runs, by the app's (frozen) test clock: its delay was counted from that clock. */
const delayOf = async (requestId: string) => (await jobOf(t, 'end', requestId))?.opts.delay;

describe('the end job moves with the window', () => {
  it('one end job, delayed to the new end, where the worker ends the window', async () => {
    const alice = await t.principal({ groups: ['dev'] });
    const profile = await createProfile(t, { approval: { required: 0, extension: { required: 0 } } });
    const created = await t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: profile.id, durationSeconds: 900, justification: 'INC-7 extension jobs' }).expect(201);
    const requestId = created.body.id as string;
    const before = await requestRow(t, requestId);
    expect(await delayOf(requestId)).toBe(before.endsAt!.getTime() - t.clock.now().getTime());

    await t.http().post(`/v1/requests/${requestId}/extend`).set(auth(alice.key)).send({ durationSeconds: 1800, justification: 'INC-7 needs longer' }).expect(201);
    const after = await requestRow(t, requestId);
    expect(after.endsAt!.getTime()).toBe(before.endsAt!.getTime() + 1_800_000);
    expect(await delayOf(requestId)).toBe(after.endsAt!.getTime() - t.clock.now().getTime());
    const extended = (await deliveriesOf(t, requestId)).filter((d) => d.event === 'request.extended');
    expect(extended).toHaveLength(1);
    expect(extended[0]!.payload).toMatchObject({ event: 'request.extended', request: { id: requestId, endsAt: after.endsAt!.toISOString() } });

    // At the new end the worker ends it.
    t.clock.set(new Date(after.endsAt!.getTime() + 1));
    await promote(t, 'end', requestId);
    await waitForStatus(t, requestId, 'ended');
  });
});
