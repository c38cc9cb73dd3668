// Timed work on BullMQ (SPEC §2, §5): windows start and end, unanswered requests expire and
// approvers are reminded when their job runs — with the clock injected and delayed jobs
// promoted by hand, so nothing waits for real time to pass.
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../src/jobs/reconciler.js';
import { runJob } from '../../src/jobs/handlers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { deleteKeysWithPrefix, jobOf, promote, queueAppOptions, schedulerOf, startWorker, testQueuePrefix } from '../support/queue.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import {
  actionCounts,
  at,
  auditOf,
  auth,
  createProfile,
  deliveriesOf,
  openRequest,
  reconcileDeps,
  requestRow,
  seconds,
  statusOf,
  until,
  waitForStatus,
} from './helpers.js';

const prefix = testQueuePrefix();
let t: TestApp;
let worker: Worker;
let receiver: WebhookReceiver;
let requester: { id: string; key: string };

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestApp(queueAppOptions(prefix, { BREVET_WEBHOOK_URLS: receiver.url, BREVET_WEBHOOK_SECRET: 'whsec_timed_transitions' }));
  worker = startWorker(t, prefix);
  await worker.waitUntilReady();
  requester = await t.principal({ groups: ['dev'] });
});

afterAll(async () => {
  await worker?.close();
  await t?.close();
  await deleteKeysWithPrefix(prefix);
  await receiver?.close();
});

/** Waits until the job is gone: completed jobs are removed, so this means it ran to the end. */
async function waitUntilJobDone(name: Parameters<typeof jobOf>[1], requestId: string): Promise<void> {
  await until(async () => ((await jobOf(t, name, requestId)) === undefined ? true : undefined), 10_000, `${name} job of ${requestId} to complete`);
}

describe('a window ends when its end job runs', () => {
  it('ends the request as system, and credentials are refused after', async () => {
    const profile = await createProfile(t, { required: 0 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    expect(request.status).toBe('active');
    const endsAt = at(request.endsAt);
    expect(endsAt - t.clock.now().getTime()).toBe(seconds(900));

    const job = await jobOf(t, 'end', request.id);
    expect(job, 'the end job is scheduled when the window opens').toBeDefined();
    expect(await job!.getState()).toBe('delayed');
    expect(job!.data).toEqual({ requestId: request.id });

    t.clock.set(new Date(endsAt + 1_000));
    await job!.promote();
    await waitForStatus(t, request.id, 'ended');

    const ended = await auditOf(t, request.id, 'request.ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ actorId: 'system', actorKind: 'system' });
    await waitUntilJobDone('end', request.id);

    const refused = await t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(requester.key)).send({ format: 'json' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('invalid-transition');
    expect(refused.body.detail).toContain('ended');
  });
});

describe('scheduled access', () => {
  it('activates at startsAt through its activate job', async () => {
    const profile = await createProfile(t, { required: 0 });
    const startsAt = new Date(t.clock.now().getTime() + seconds(3600));
    const request = await openRequest(t, requester.key, { profile: profile.name, startsAt: startsAt.toISOString() });
    expect(request.status).toBe('approved');
    expect(await (await jobOf(t, 'activate', request.id))?.getState()).toBe('delayed');
    expect(await (await jobOf(t, 'end', request.id))?.getState()).toBe('delayed');

    t.clock.set(new Date(startsAt.getTime() + 1_000));
    await promote(t, 'activate', request.id);
    await waitForStatus(t, request.id, 'active');

    const activated = await auditOf(t, request.id, 'request.activated');
    expect(activated).toHaveLength(1);
    expect(activated[0]).toMatchObject({ actorKind: 'system' });
    expect(activated[0]!.occurredAt.getTime()).toBeGreaterThanOrEqual(startsAt.getTime());
    // The end job stays scheduled for the window's end.
    expect(await (await jobOf(t, 'end', request.id))?.getState()).toBe('delayed');
  });

  it('keeps a start only seconds ahead: no access before it, however near', async () => {
    const profile = await createProfile(t, { required: 0 });
    const startsAt = new Date(t.clock.now().getTime() + 5_000);
    const request = await openRequest(t, requester.key, { profile: profile.name, startsAt: startsAt.toISOString() });
    expect(request).toMatchObject({ status: 'approved', startsAt: startsAt.toISOString() });
    const early = await t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(requester.key)).send({ format: 'json' });
    expect(early.status).toBe(409);

    t.clock.set(new Date(startsAt.getTime() + 1_000));
    await promote(t, 'activate', request.id);
    await waitForStatus(t, request.id, 'active');
  });
});

describe('unanswered requests', () => {
  it('expire at their pending TTL through expire-pending', async () => {
    const profile = await createProfile(t, { required: 1, pendingTtlSeconds: 3600 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    expect(request.status).toBe('pending');
    expect(at(request.pendingExpiresAt) - t.clock.now().getTime()).toBe(seconds(3600));

    t.clock.set(new Date(at(request.pendingExpiresAt) + 1_000));
    await promote(t, 'expire-pending', request.id);
    await waitForStatus(t, request.id, 'expired');
    const expired = await auditOf(t, request.id, 'request.expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ actorId: 'system', actorKind: 'system' });
  });

  it('remind the approvers once, even when the job runs twice and the reconciler runs too, with a webhook', async () => {
    const profile = await createProfile(t, { required: 1, pendingTtlSeconds: 3600, remindAfterSeconds: 600 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    const remindAt = (await requestRow(t, request.id)).remindAt!;
    expect(remindAt.getTime() - t.clock.now().getTime()).toBe(seconds(600));
    expect(await (await jobOf(t, 'remind', request.id))?.getState()).toBe('delayed');

    t.clock.set(new Date(remindAt.getTime() + 1_000));
    // The queued job, the same handler called directly (a duplicate delivery) and two sweeps, all at once.
    const deps = reconcileDeps(t);
    await Promise.all([
      promote(t, 'remind', request.id),
      runJob(deps, 'remind', { requestId: request.id }),
      reconcile(deps),
      reconcile(deps),
    ]);
    await waitUntilJobDone('remind', request.id);

    // The job once more (scheduled again by hand, as a retry would), and one more sweep.
    await schedulerOf(t).schedule({ name: 'remind', payload: { requestId: request.id }, runAt: t.clock.now() });
    await waitUntilJobDone('remind', request.id);
    await reconcile(deps);

    const reminded = await auditOf(t, request.id, 'request.reminded');
    expect(reminded).toHaveLength(1);
    expect(reminded[0]).toMatchObject({ actorId: 'system', actorKind: 'system' });
    expect(await statusOf(t, request.id)).toBe('pending');
    expect((await requestRow(t, request.id)).remindedAt).not.toBeNull();

    const delivered = await until(
      async () => {
        const rows = (await deliveriesOf(t, request.id)).filter((d) => d.event === 'request.reminded');
        return rows.length > 0 && rows.every((d) => d.status === 'delivered') ? rows : undefined;
      },
      10_000,
      'the request.reminded webhook to be delivered',
    );
    expect(delivered).toHaveLength(1);
    const posts = receiver.receivedFor(delivered[0]!.id);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.headers['brevet-event']).toBe('request.reminded');
    expect(JSON.parse(posts[0]!.rawBody)).toMatchObject({ event: 'request.reminded', request: { id: request.id, status: 'pending' } });
  });
});

describe('a job that arrives early', () => {
  it('does nothing and goes back to delayed, then completes once its moment has come', async () => {
    const profile = await createProfile(t, { required: 0 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    const endsAt = at(request.endsAt);

    // Promoted while the clock is still inside the window: the worker must put it back.
    expect((await jobOf(t, 'end', request.id))?.attemptsStarted).toBe(0);
    await promote(t, 'end', request.id);
    const putBack = await until(
      async () => {
        const job = await jobOf(t, 'end', request.id);
        // Started once (the worker took it) and delayed again (it gave it back).
        return job !== undefined && job.attemptsStarted >= 1 && (await job.getState()) === 'delayed' ? job : undefined;
      },
      10_000,
      'the early end job to be delayed again',
    );
    // Back for the window's end as our clock measures it, not for some retry backoff.
    const runsAt = putBack.timestamp + (putBack.opts.delay ?? 0);
    expect(Math.abs(runsAt - (Date.now() + (endsAt - t.clock.now().getTime())))).toBeLessThan(seconds(5));
    expect(await statusOf(t, request.id)).toBe('active');
    expect(await actionCounts(t, request.id)).not.toHaveProperty('request.ended');

    t.clock.set(new Date(endsAt + 1));
    await promote(t, 'end', request.id);
    await waitForStatus(t, request.id, 'ended');
    await waitUntilJobDone('end', request.id);
    expect((await actionCounts(t, request.id))['request.ended']).toBe(1);
  });
});
