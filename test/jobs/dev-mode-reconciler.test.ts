// Dev mode (SPEC §5, §9): no Redis, an embedded PGlite database, and the in-process reconciler
// loop as the scheduler — it ends windows and attempts webhook deliveries itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/db/pglite.js';
import { startReconcilerLoop } from '../../src/jobs/reconciler.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { at, auditOf, createProfile, deliveriesOf, openRequest, reconcileDeps, until, waitForStatus } from './helpers.js';

let t: TestApp;
let receiver: WebhookReceiver;
let loop: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  t = await startTestApp({
    env: { BREVET_WEBHOOK_URLS: receiver.url, BREVET_WEBHOOK_SECRET: 'whsec_dev_mode' },
    overrides: { database: openPglite(undefined) },
  });
  loop = startReconcilerLoop(reconcileDeps(t), 50);
}, 60_000);

afterAll(async () => {
  await loop?.stop();
  await t?.close();
  await receiver?.close();
});

describe('the in-process reconciler', () => {
  it('runs without Redis on PGlite', () => {
    expect(t.deps.scheduler).toBeUndefined();
    expect(t.deps.database.kind).toBe('pglite');
  });

  it('ends a window once the clock passes endsAt, and delivers the webhooks itself', async () => {
    const requester = await t.principal({ groups: ['dev'] });
    const profile = await createProfile(t, { required: 0 });
    const request = await openRequest(t, requester.key, { profile: profile.name });
    expect(request.status).toBe('active');

    // No queue: the loop attempts the deliveries of the creation.
    await until(
      async () => {
        const rows = await deliveriesOf(t, request.id);
        return rows.length === 3 && rows.every((row) => row.status === 'delivered') ? true : undefined;
      },
      10_000,
      'the creation webhooks to be delivered by the reconciler',
    );

    t.clock.set(new Date(at(request.endsAt) + 1_000));
    await waitForStatus(t, request.id, 'ended');
    const ended = await auditOf(t, request.id, 'request.ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ actorId: 'system', actorKind: 'system' });

    const endedDelivery = await until(
      async () => (await deliveriesOf(t, request.id)).find((row) => row.event === 'request.ended' && row.status === 'delivered'),
      10_000,
      'the request.ended webhook to be delivered by the reconciler',
    );
    const posts = receiver.receivedFor(endedDelivery.id);
    expect(posts).toHaveLength(1);
    expect(JSON.parse(posts[0]!.rawBody)).toMatchObject({ event: 'request.ended', request: { id: request.id, status: 'ended' } });

    await loop!.stop();
    loop = undefined;
    // Nothing ran twice while the loop kept sweeping.
    expect(await auditOf(t, request.id, 'request.ended')).toHaveLength(1);
    expect(receiver.received.filter((post) => JSON.parse(post.rawBody).request?.id === request.id)).toHaveLength(4);
  });
});
