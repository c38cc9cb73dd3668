// Outgoing webhooks (SPEC §5): every lifecycle event is POSTed to each BREVET_WEBHOOK_URLS entry,
// signed Stripe-style, retried with backoff, recorded with its attempts, and given up on (audited)
// after NOTIFY_ATTEMPTS.
import { createHmac } from 'node:crypto';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/client.js';
import { NOTIFY_ATTEMPTS, jobId } from '../../src/jobs/catalog.js';
import { reconcile } from '../../src/jobs/reconciler.js';
import { createJobWorker } from '../../src/jobs/worker-runner.js';
import { verifySignature } from '../../src/webhooks/signature.js';
import { attemptDelivery, recordDeliveries } from '../../src/webhooks/deliveries.js';
import { auditEvents, deliveries } from '../../src/db/schema.js';
import { eq } from 'drizzle-orm';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL, deleteKeysWithPrefix, queueAppOptions, schedulerOf, startWorker, testQueuePrefix } from '../support/queue.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { auditOf, createProfile, deliveriesOf, openRequest, reconcileDeps, until, type DeliveryRow } from './helpers.js';

const SECRET = 'whsec_brevet_test_0123456789';
const prefix = testQueuePrefix();
let t: TestApp;
let worker: Worker;
let receiver: WebhookReceiver;
let requester: { id: string; key: string };

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestApp(queueAppOptions(prefix, { BREVET_WEBHOOK_URLS: receiver.url, BREVET_WEBHOOK_SECRET: SECRET }));
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

/** Waits until every delivery of the request has left `pending` (delivered or given up). */
async function settledDeliveries(requestId: string, expected: number, timeoutMs = 15_000): Promise<DeliveryRow[]> {
  return until(
    async () => {
      const rows = await deliveriesOf(t, requestId);
      return rows.length === expected && rows.every((row) => row.status !== 'pending') ? rows : undefined;
    },
    timeoutMs,
    `${expected} deliveries of ${requestId} to settle`,
  );
}

interface Attempt {
  at: string;
  status: number | null;
  error: string | null;
}

describe('signed deliveries', () => {
  it('POSTs each lifecycle event once, with a Brevet-Signature that verifies', async () => {
    receiver.succeed();
    const profile = await createProfile(t, { required: 0 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    const rows = await settledDeliveries(request.id, 3);
    expect(rows.map((row) => row.event).sort()).toEqual(['request.activated', 'request.approved', 'request.created']);

    for (const row of rows) {
      expect(row).toMatchObject({ status: 'delivered', attemptCount: 1, target: receiver.url });
      const posts = receiver.receivedFor(row.id);
      expect(posts).toHaveLength(1);
      const post = posts[0]!;
      expect(post.method).toBe('POST');
      expect(post.headers['content-type']).toMatch(/^application\/json/);
      expect(post.headers['brevet-event']).toBe(row.event);
      expect(JSON.parse(post.rawBody)).toMatchObject({ id: row.id, event: row.event, request: { id: request.id } });

      // The documented scheme, recomputed here: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">.
      const header = post.headers['brevet-signature'];
      expect(typeof header).toBe('string');
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header as string);
      expect(match, header as string).not.toBeNull();
      const [, timestamp, v1] = match!;
      expect(v1).toBe(createHmac('sha256', SECRET).update(`${timestamp}.${post.rawBody}`).digest('hex'));
      expect(Math.abs(Number(timestamp) - t.clock.now().getTime() / 1000)).toBeLessThanOrEqual(1);

      expect(verifySignature(SECRET, post.rawBody, header as string, t.clock.now())).toBe(true);
      expect(verifySignature('not-the-secret', post.rawBody, header as string, t.clock.now())).toBe(false);
      expect(verifySignature(SECRET, post.rawBody.replace(request.id, 'req_forged'), header as string, t.clock.now())).toBe(false);
      // A captured delivery replayed much later is refused by the receiver's tolerance.
      expect(verifySignature(SECRET, post.rawBody, header as string, new Date(t.clock.now().getTime() + 3_600_000))).toBe(false);
    }
  });
});

describe('retries', () => {
  it('a receiver that fails twice gets exactly one successful delivery, after 3 POSTs', async () => {
    receiver.failFirst(2);
    // One approval required: the request is only created, so there is a single delivery.
    const profile = await createProfile(t, { required: 1 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    const [row] = await settledDeliveries(request.id, 1);

    const posts = receiver.receivedFor(row!.id);
    expect(posts.map((post) => post.status)).toEqual([500, 500, 200]);
    // Every attempt sends the same body (the recorded payload), each freshly signed.
    expect(new Set(posts.map((post) => post.rawBody)).size).toBe(1);
    for (const post of posts) expect(verifySignature(SECRET, post.rawBody, post.headers['brevet-signature'] as string, t.clock.now())).toBe(true);

    expect(row).toMatchObject({ status: 'delivered', attemptCount: 3, event: 'request.created', nextAttemptAt: null });
    expect((row!.attempts as Attempt[]).map((attempt) => attempt.status)).toEqual([500, 500, 200]);
    expect(await auditOf(t, request.id, 'webhook.failed')).toHaveLength(0);
  });

  it(`a receiver that always fails is given up on after ${NOTIFY_ATTEMPTS} attempts, audited webhook.failed`, async () => {
    receiver.failAlways(503);
    const profile = await createProfile(t, { required: 1 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    const [row] = await settledDeliveries(request.id, 1);

    expect(row).toMatchObject({ status: 'failed', attemptCount: NOTIFY_ATTEMPTS, nextAttemptAt: null });
    expect((row!.attempts as Attempt[]).map((attempt) => attempt.status)).toEqual(Array(NOTIFY_ATTEMPTS).fill(503));
    expect(receiver.receivedFor(row!.id)).toHaveLength(NOTIFY_ATTEMPTS);

    const failed = await auditOf(t, request.id, 'webhook.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ actorId: 'system', actorKind: 'system' });
    expect(failed[0]!.details).toMatchObject({ deliveryId: row!.id, target: receiver.url, event: 'request.created', attempts: NOTIFY_ATTEMPTS, lastStatus: 503 });
    receiver.succeed();
  });

  it('a checkpoint whose delivery is given up is not audited: that event would be sealed into a block whose checkpoint fails again, forever', async () => {
    receiver.failAlways(404);
    const before = (await t.deps.db.select().from(auditEvents).where(eq(auditEvents.action, 'webhook.failed'))).length;
    const [id] = await recordDeliveries(t.deps.db, t.clock.now(), t.deps.webhooks, { event: 'audit.checkpoint', requestId: null, payload: { block: { seq: 1 } } });
    expect(await attemptDelivery(t.deps, t.deps.webhooks, id!)).toBe('failed');
    expect(receiver.receivedFor(id!)).toHaveLength(1);
    expect(await t.deps.db.select().from(auditEvents).where(eq(auditEvents.action, 'webhook.failed'))).toHaveLength(before);
    const [row] = await t.deps.db.select().from(deliveries).where(eq(deliveries.id, id!));
    expect(row).toMatchObject({ status: 'failed', event: 'audit.checkpoint', attemptCount: 1 });
    receiver.succeed();
  });

  it('a receiver that refuses the delivery (410 Gone) is given up on at once: retrying cannot change a 4xx', async () => {
    receiver.failAlways(410);
    const profile = await createProfile(t, { required: 1 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    const [row] = await settledDeliveries(request.id, 1);
    expect(row).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(receiver.receivedFor(row!.id)).toHaveLength(1);
    expect(await auditOf(t, request.id, 'webhook.failed')).toHaveLength(1);
    receiver.succeed();
  });
});

describe('a database outage longer than the retries', () => {
  it('loses no delivery: the reconciler enqueues it again and it goes out once', async () => {
    receiver.succeed();
    const profile = await createProfile(t, { required: 1 });
    // Only a worker whose database is unreachable: every attempt throws before reaching the receiver.
    await worker.close();
    const unreachable = openPostgres('postgres://postgres@127.0.0.1:1/brevet_unreachable');
    const broken = createJobWorker({ ...reconcileDeps(t), db: unreachable.db }, { redisUrl: TEST_REDIS_URL, prefix }, t.deps.logger);
    let requestId: string;
    try {
      requestId = (await openRequest(t, requester.key, { profile: profile.name })).id;
      const [pending] = await deliveriesOf(t, requestId);
      const notifyJobId = jobId({ name: 'notify', payload: { deliveryId: pending!.id } });
      await until(
        async () => ((await (await schedulerOf(t).queue.getJob(notifyJobId))?.getState()) === 'failed' ? true : undefined),
        15_000,
        'the notify job to fail for good',
      );
      expect((await deliveriesOf(t, requestId))[0]).toMatchObject({ status: 'pending', attemptCount: 0 });
    } finally {
      await broken.close();
      await unreachable.close();
    }

    // The database is back; a sweep finds the delivery overdue (past the grace for in-flight jobs).
    worker = startWorker(t, prefix);
    await worker.waitUntilReady();
    t.clock.advance(61_000);
    await reconcile(reconcileDeps(t));
    const [row] = await settledDeliveries(requestId, 1, 5_000);
    expect(row).toMatchObject({ status: 'delivered', attemptCount: 1 });
    expect(receiver.receivedFor(row!.id)).toHaveLength(1);
  });
});
