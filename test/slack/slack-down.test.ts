// SPEC §5, §8: Slack is reached only through recorded deliveries. When Slack fails (HTTP 500, or
// ok:false ratelimited) the delivery is retried with growing backoff and delivered once Slack
// answers; after the last attempt it is given up and audited. The request never notices.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { NOTIFY_ATTEMPTS } from '../../src/jobs/catalog.js';
import { auditByAction, createProfile, openRequest } from '../requests/helpers.js';
import {
  auth,
  click,
  ephemeralTexts,
  postsOf,
  randomSlackId,
  runDeliveries,
  slackMessagesOf,
  slackPerson,
  startSlackApp,
  updatesOf,
  type SlackHarness,
} from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  // Every test starts with nothing due, so an armed fault hits this test's delivery.
  await runDeliveries(h);
  expect(await pendingCount()).toBe(0);
});

async function pendingCount(): Promise<number> {
  return (await h.t.deps.db.select().from(deliveries).where(eq(deliveries.status, 'pending'))).length;
}

async function messageDelivery(requestId: string, event: string) {
  const rows = await h.t.deps.db.select().from(deliveries).where(eq(deliveries.requestId, requestId));
  const row = rows.find((r) => r.target === 'slack:messages' && r.event === event);
  expect(row, `slack:messages delivery for ${event}`).toBeDefined();
  return row!;
}

/** The request as the API shows it, without the fields that legitimately change over time. */
async function apiView(key: string, requestId: string) {
  const response = await h.t.http().get(`/v1/requests/${requestId}`).set(auth(key)).expect(200);
  return response.body as Record<string, unknown>;
}

/** Moves the app's clock just past the delivery's next attempt. */
function pastNextAttempt(row: { nextAttemptAt: Date | null }) {
  expect(row.nextAttemptAt).not.toBeNull();
  h.t.clock.set(new Date(row.nextAttemptAt!.getTime() + 1));
}

describe('when Slack is down', () => {
  it('retries the message with backoff (500, then ratelimited) and posts it once Slack answers', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    const before = await apiView(alice.key, request.id);

    h.slack.failNext({ kind: 'http-500' });
    await runDeliveries(h);
    let row = await messageDelivery(request.id, 'request.created');
    expect(row).toMatchObject({ status: 'pending', attemptCount: 1 });
    const firstDelay = row.nextAttemptAt!.getTime() - h.t.clock.now().getTime();
    expect(firstDelay).toBeGreaterThan(0);
    expect(await slackMessagesOf(h, request.id)).toEqual([]);

    // Not yet due: a sweep now does not hammer Slack.
    const callsBefore = h.slack.calls.length;
    await runDeliveries(h);
    expect(h.slack.calls.length).toBe(callsBefore);
    expect((await messageDelivery(request.id, 'request.created')).attemptCount).toBe(1);

    pastNextAttempt(row);
    h.slack.failNext({ kind: 'error', error: 'ratelimited' });
    await runDeliveries(h);
    row = await messageDelivery(request.id, 'request.created');
    expect(row).toMatchObject({ status: 'pending', attemptCount: 2 });
    const secondDelay = row.nextAttemptAt!.getTime() - h.t.clock.now().getTime();
    expect(secondDelay).toBeGreaterThan(firstDelay);
    expect(JSON.stringify(row.attempts)).toContain('slack: ratelimited');

    pastNextAttempt(row);
    h.slack.failNext({ kind: 'ratelimited' }); // HTTP 429 with ok:false ratelimited.
    await runDeliveries(h);
    row = await messageDelivery(request.id, 'request.created');
    expect(row).toMatchObject({ status: 'pending', attemptCount: 3 });

    pastNextAttempt(row);
    await runDeliveries(h);
    row = await messageDelivery(request.id, 'request.created');
    expect(row).toMatchObject({ status: 'delivered', attemptCount: 4, nextAttemptAt: null });
    // One call per attempt (the stand-in records the failed ones too), and no more once delivered.
    expect(postsOf(h, request.id)).toHaveLength(4);
    await runDeliveries(h);
    expect(postsOf(h, request.id)).toHaveLength(4);
    expect(await slackMessagesOf(h, request.id)).toEqual([{ channel, ts: expect.any(String) }]);

    // The request never noticed.
    expect(await apiView(alice.key, request.id)).toEqual(before);
  });

  it('does not hold up an approval: the API answers as usual and the update follows later', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    await runDeliveries(h);

    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await ephemeralTexts(h, bob.slackUserId); // Sent after the 200: let it pass before Slack goes down.
    const approved = await apiView(alice.key, request.id);
    expect(approved['status']).toBe('active');

    h.slack.failNext({ kind: 'http-500' });
    await runDeliveries(h);
    let row = await messageDelivery(request.id, 'request.activated');
    expect(row).toMatchObject({ status: 'pending', attemptCount: 1 });
    expect(await apiView(alice.key, request.id)).toEqual(approved);

    pastNextAttempt(row);
    await runDeliveries(h);
    row = await messageDelivery(request.id, 'request.activated');
    expect(row).toMatchObject({ status: 'delivered', attemptCount: 2 });
    const [ref] = await slackMessagesOf(h, request.id);
    expect(updatesOf(h, request.id).map((call) => [call.args['channel'], call.args['ts']])).toEqual([
      [ref!.channel, ref!.ts],
      [ref!.channel, ref!.ts],
    ]);
    expect(await apiView(alice.key, request.id)).toEqual(approved);
  });

  it(`gives up after ${NOTIFY_ATTEMPTS} attempts, audited as slack.failed, and the request is unaffected`, async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    const before = await apiView(alice.key, request.id);

    const delays: number[] = [];
    for (let attempt = 1; attempt <= NOTIFY_ATTEMPTS; attempt += 1) {
      h.slack.failNext({ kind: 'error', error: 'service_unavailable' });
      await runDeliveries(h);
      const row = await messageDelivery(request.id, 'request.created');
      expect(row.attemptCount).toBe(attempt);
      if (attempt < NOTIFY_ATTEMPTS) {
        expect(row.status).toBe('pending');
        delays.push(row.nextAttemptAt!.getTime() - h.t.clock.now().getTime());
        pastNextAttempt(row);
      } else {
        expect(row).toMatchObject({ status: 'failed', nextAttemptAt: null });
      }
    }
    // Exponential: each wait longer than the one before.
    for (let i = 1; i < delays.length; i += 1) expect(delays[i]).toBeGreaterThan(delays[i - 1]!);

    const failed = (await auditByAction(h.t, 'slack.failed')).filter((event) => event.requestId === request.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.details).toMatchObject({ target: 'slack:messages', attempts: NOTIFY_ATTEMPTS, lastError: 'slack: service_unavailable' });
    expect(JSON.stringify(failed[0]!.details)).not.toContain('xoxb-test');

    expect(await apiView(alice.key, request.id)).toEqual(before);
  });

  it('gives up at once on an error no retry can fix (channel_not_found), audited as slack.failed', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    h.slack.failNext({ kind: 'error', error: 'channel_not_found' });
    await runDeliveries(h);
    const row = await messageDelivery(request.id, 'request.created');
    expect(row).toMatchObject({ status: 'failed', attemptCount: 1, nextAttemptAt: null });
    const failed = (await auditByAction(h.t, 'slack.failed')).filter((event) => event.requestId === request.id);
    expect(failed[0]!.details).toMatchObject({ lastError: 'slack: channel_not_found', attempts: 1 });
  });
});
