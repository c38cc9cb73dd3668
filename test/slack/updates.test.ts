// SPEC §8: a click runs the very same review command as the API (channel `slack`), and the
// request's message is then updated in place — on approval, and again on every later change.
// The requester hears about decisions and activation in a direct message.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema.js';
import { runTimedTransition } from '../../src/requests/run-timed-transition.js';
import { createProfile, openRequest } from '../requests/helpers.js';
import {
  auth,
  blocksOf,
  click,
  ephemeralTexts,
  lastUpdateOf,
  postsOf,
  randomSlackId,
  runDeliveries,
  shownText,
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

/** A pending request on a profile with its own channel, its message already posted. */
async function postedRequest(options: { requester?: { key: string }; body?: Record<string, unknown> } = {}) {
  const channel = randomSlackId('C');
  const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
  const requester = options.requester ?? (await h.t.principal({ groups: ['dev'] }));
  const request = await openRequest(h.t, requester.key, { profile: profile.name, ...options.body });
  await runDeliveries(h);
  const [ref] = await slackMessagesOf(h, request.id);
  expect(ref?.channel).toBe(channel);
  return { request, requester, channel, ref: ref! };
}

/** The latest chat.update of the request: same message (channel and ts), no new post. */
function expectUpdatedInPlace(requestId: string, ref: { channel: string; ts: string }) {
  const update = lastUpdateOf(h, requestId);
  expect(update.args['channel']).toBe(ref.channel);
  expect(update.args['ts']).toBe(ref.ts);
  expect(postsOf(h, requestId)).toHaveLength(1);
  return update;
}

const hasButtons = (call: Parameters<typeof blocksOf>[0]) => blocksOf(call).some((block) => block.type === 'actions');

describe('an approval through Slack', () => {
  it('approves as the mapped approver, audited with channel slack, and updates the message in place', async () => {
    const bob = await slackPerson(h, { groups: ['sre'], displayName: 'Bob Approver' });
    const { request, ref } = await postedRequest();

    await click(h, bob.slackUserId, 'approve', request.id, ref.channel).expect(200);

    const view = await h.t.http().get(`/v1/requests/${request.id}`).set(auth(h.t.adminKey)).expect(200);
    expect(view.body.status).toBe('active');
    expect(view.body.reviews).toEqual([expect.objectContaining({ reviewerId: bob.id, decision: 'approve', channel: 'slack' })]);
    const [approved] = await h.t.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.requestId, request.id), eq(auditEvents.action, 'review.approved')));
    expect(approved).toMatchObject({ actorId: bob.id, details: expect.objectContaining({ channel: 'slack' }) });
    expect(await ephemeralTexts(h, bob.slackUserId)).toEqual(['You approved this request.']);

    await runDeliveries(h);
    const update = expectUpdatedInPlace(request.id, ref);
    const shown = shownText(update);
    expect(shown).toContain('Approved by Bob Approver');
    expect(shown).toContain(`Active until ${view.body.endsAt}`);
    expect(hasButtons(update)).toBe(false);
  });
});

describe('later changes update the same message again', () => {
  it('cancel', async () => {
    const { request, requester, ref } = await postedRequest();
    await h.t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(requester.key)).send({}).expect(200);
    await runDeliveries(h);
    const update = expectUpdatedInPlace(request.id, ref);
    expect(shownText(update)).toContain('Cancelled');
    expect(hasButtons(update)).toBe(false);
  });

  it('deny', async () => {
    const bob = await slackPerson(h, { groups: ['sre'], displayName: 'Bob Denier' });
    const { request, ref } = await postedRequest();
    await click(h, bob.slackUserId, 'deny', request.id, ref.channel).expect(200);
    expect(await ephemeralTexts(h, bob.slackUserId)).toEqual(['You denied this request.']);
    await runDeliveries(h);
    const update = expectUpdatedInPlace(request.id, ref);
    expect(shownText(update)).toContain('Denied by Bob Denier');
    expect(shownText(update)).toContain('Denied');
    expect(hasButtons(update)).toBe(false);
  });

  it('revoke', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, requester, ref } = await postedRequest();
    await click(h, bob.slackUserId, 'approve', request.id, ref.channel).expect(200);
    await runDeliveries(h);
    const updatesBefore = updatesOf(h, request.id).length;
    await h.t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(requester.key)).send({ reason: 'done early' }).expect(200);
    await runDeliveries(h);
    expect(updatesOf(h, request.id).length).toBeGreaterThan(updatesBefore);
    expect(shownText(expectUpdatedInPlace(request.id, ref))).toContain('Revoked');
  });

  it('end, when the window is over', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, ref } = await postedRequest({ body: { durationSeconds: 900 } });
    await click(h, bob.slackUserId, 'approve', request.id, ref.channel).expect(200);
    await runDeliveries(h);

    h.t.clock.advance(901_000);
    expect(await runTimedTransition(h.t.deps, request.id, 'end')).toBe(true);
    await runDeliveries(h);
    expect(shownText(expectUpdatedInPlace(request.id, ref))).toContain('Ended');
  });

  it('expire, when nobody decided in time', async () => {
    const { request, ref } = await postedRequest();
    h.t.clock.set(new Date(Date.parse(request.pendingExpiresAt) + 1_000));
    expect(await runTimedTransition(h.t.deps, request.id, 'expire')).toBe(true);
    await runDeliveries(h);
    const update = expectUpdatedInPlace(request.id, ref);
    expect(shownText(update)).toContain('Expired');
    expect(hasButtons(update)).toBe(false);
  });
});

describe('the requester is told in a direct message', () => {
  async function requesterDms(slackUserId: string): Promise<string[]> {
    const dm = `D${slackUserId.slice(1)}`;
    return h.slack
      .callsTo('chat.postMessage')
      .filter((call) => call.args['channel'] === dm)
      .map((call) => String(call.args['text']));
  }

  it('when a scheduled request is approved, and again when it becomes active', async () => {
    const alice = await slackPerson(h, { groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const startsAt = new Date(h.t.clock.now().getTime() + 2 * 3_600_000);
    const { request, ref } = await postedRequest({ requester: alice, body: { startsAt: startsAt.toISOString() } });

    await click(h, bob.slackUserId, 'approve', request.id, ref.channel).expect(200);
    await runDeliveries(h);
    const approved = await requesterDms(alice.slackUserId);
    expect(approved).toHaveLength(1);
    expect(approved[0]).toContain('was approved');
    expect(approved[0]).toContain(startsAt.toISOString());
    expect(h.slack.callsTo('conversations.open').some((call) => call.args['users'] === alice.slackUserId)).toBe(true);

    h.t.clock.set(new Date(startsAt.getTime() + 1_000));
    expect(await runTimedTransition(h.t.deps, request.id, 'activate')).toBe(true);
    await runDeliveries(h);
    const all = await requesterDms(alice.slackUserId);
    expect(all).toHaveLength(2);
    expect(all[1]).toContain('is active until');
    expect(shownText(expectUpdatedInPlace(request.id, ref))).toContain('Active until');
  });

  it('when an immediate request is approved and active', async () => {
    const alice = await slackPerson(h, { groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, ref } = await postedRequest({ requester: alice });
    await click(h, bob.slackUserId, 'approve', request.id, ref.channel).expect(200);
    await runDeliveries(h);
    const dms = await requesterDms(alice.slackUserId);
    expect(dms).toHaveLength(1);
    expect(dms[0]).toContain('is active until');
  });

  it('when the request is denied', async () => {
    const alice = await slackPerson(h, { groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, ref } = await postedRequest({ requester: alice });
    await click(h, bob.slackUserId, 'deny', request.id, ref.channel).expect(200);
    await runDeliveries(h);
    expect(await requesterDms(alice.slackUserId)).toEqual([expect.stringContaining('was denied')]);
  });
});
