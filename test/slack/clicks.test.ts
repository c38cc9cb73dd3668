// SPEC §3 rules 1, 2, 8, 9, 10 through Slack: a click runs the same review command as the API, so
// the requester, non-approvers, unknown Slack users and late clickers change nothing — each is
// told why, privately — and a replayed or concurrent click counts once.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema.js';
import { auditByAction, createProfile, openRequest, review, reviewRows, statusOf } from '../requests/helpers.js';
import {
  clickBody,
  click,
  ephemeralTexts,
  lastUpdateOf,
  postSigned,
  randomSlackId,
  runDeliveries,
  shownText,
  slackPerson,
  slackUserIdOf,
  startSlackApp,
  type SlackHarness,
} from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterAll(async () => {
  await h?.close();
});

async function pendingRequest(approval: Record<string, unknown> = { required: 1, approverGroups: ['sre'] }, requester?: { key: string }) {
  const channel = randomSlackId('C');
  const profile = await createProfile(h.t, { approval, notify: { slackChannel: channel } });
  const alice = requester ?? (await h.t.principal({ groups: ['dev'] }));
  const request = await openRequest(h.t, alice.key, { profile: profile.name });
  await runDeliveries(h);
  return { request, channel };
}

async function refusalsOf(requestId: string) {
  return h.t.deps.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.requestId, requestId), eq(auditEvents.action, 'review.refused')));
}

/** The click was answered 200 and privately told why; the request and its reviews did not move. */
async function expectNothingChanged(requestId: string, slackUserId: string, status: string, reviews: number, reason: RegExp) {
  const [text] = await ephemeralTexts(h, slackUserId);
  expect(text).toMatch(/^Nothing was changed: /);
  expect(text).toMatch(reason);
  expect(await statusOf(h.t, requestId)).toBe(status);
  expect(await reviewRows(h.t, requestId)).toHaveLength(reviews);
}

describe('clicks that change nothing', () => {
  it('the requester, even when in the approver group', async () => {
    const alice = await slackPerson(h, { groups: ['dev', 'sre'] });
    const { request, channel } = await pendingRequest(undefined, alice);
    await click(h, alice.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, alice.slackUserId, 'pending', 0, /your own request/);
    expect(await refusalsOf(request.id)).toEqual([
      expect.objectContaining({ actorId: alice.id, details: expect.objectContaining({ reason: 'self-review', channel: 'slack' }) }),
    ]);
  });

  it('a principal who is not an approver', async () => {
    const erin = await slackPerson(h, { groups: ['dev'] });
    const { request, channel } = await pendingRequest();
    await click(h, erin.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, erin.slackUserId, 'pending', 0, /not an approver/);
    expect(await refusalsOf(request.id)).toEqual([
      expect.objectContaining({ actorId: erin.id, details: expect.objectContaining({ reason: 'not-an-approver', channel: 'slack' }) }),
    ]);
  });

  it('an approver who left the approver group after the message was posted (eligible at review time only)', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, channel } = await pendingRequest();
    await h.t.http().patch(`/v1/principals/${bob.id}`).set({ authorization: `Bearer ${h.t.adminKey}` }).send({ groups: ['dev'] }).expect(200);
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, bob.slackUserId, 'pending', 0, /not an approver/);
  });

  it('a Slack user Brevet does not know (users.info: user_not_found)', async () => {
    const stranger = randomSlackId('U');
    const { request, channel } = await pendingRequest();
    const auditBefore = (await h.t.deps.db.select().from(auditEvents)).length;
    await click(h, stranger, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, stranger, 'pending', 0, /not linked/);
    expect(h.slack.callsTo('users.info').some((call) => call.args['user'] === stranger)).toBe(true);
    // No principal to name as actor: nothing is written at all.
    expect((await h.t.deps.db.select().from(auditEvents)).length).toBe(auditBefore);
  });

  it('a Slack user whose e-mail matches no principal', async () => {
    const stranger = randomSlackId('U');
    h.slack.users.set(stranger, 'nobody-here@example.com');
    const { request, channel } = await pendingRequest();
    await click(h, stranger, 'deny', request.id, channel).expect(200);
    await expectNothingChanged(request.id, stranger, 'pending', 0, /not linked/);
  });

  it.each([
    ['a guest (restricted account)', { is_restricted: true }],
    ['a single-channel guest', { is_ultra_restricted: true }],
    ['a bot', { is_bot: true }],
    ['a user whose e-mail Slack has not confirmed', { is_email_confirmed: false }],
  ])('%s whose e-mail is an approver\'s is not mapped to that approver', async (_label, flags) => {
    const bob = await h.t.principal({ groups: ['sre'] });
    const lookalike = randomSlackId('U');
    h.slack.users.set(lookalike, bob.email!);
    h.slack.userFlags.set(lookalike, flags);
    const { request, channel } = await pendingRequest();
    await click(h, lookalike, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, lookalike, 'pending', 0, /not linked/);
    expect(await slackUserIdOf(h, bob.id)).toBeNull();
  });

  it('an approver clicking on a request that is already decided', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const carol = await slackPerson(h, { groups: ['sre'] });
    const { request, channel } = await pendingRequest();
    await click(h, bob.slackUserId, 'deny', request.id, channel).expect(200);
    expect(await statusOf(h.t, request.id)).toBe('denied');

    await click(h, carol.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, carol.slackUserId, 'denied', 1, /already decided/);
    expect(await refusalsOf(request.id)).toEqual([
      expect.objectContaining({ actorId: carol.id, details: expect.objectContaining({ reason: 'invalid-transition' }) }),
    ]);
  });

  it('an approver clicking after the pending TTL, before the expiry job ran', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, channel } = await pendingRequest();
    h.t.clock.set(new Date(Date.parse(request.pendingExpiresAt) + 1_000));
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, bob.slackUserId, 'pending', 0, /expired/);
  });

  it('a Slack user who cannot be looked up because Slack is down: told to try again', async () => {
    const bob = await slackPerson(h, { groups: ['sre'], linked: false });
    const { request, channel } = await pendingRequest();
    h.slack.failNext({ kind: 'http-500' }); // users.info
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, bob.slackUserId, 'pending', 0, /try again/);
    expect(await slackUserIdOf(h, bob.id)).toBeNull();

    // Once Slack answers, the same click works.
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    expect(await statusOf(h.t, request.id)).toBe('active');
  });

  it('an approval forged for a profile whose approvals need MFA', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, channel } = await pendingRequest({ required: 1, approverGroups: ['sre'], requireApproverMfa: true });
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, bob.slackUserId, 'pending', 0, /MFA/);
    expect(await refusalsOf(request.id)).toEqual([
      expect.objectContaining({ actorId: bob.id, details: expect.objectContaining({ reason: 'approver-mfa', channel: 'slack' }) }),
    ]);
  });

  it('a disabled principal', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    await h.t.http().patch(`/v1/principals/${bob.id}`).set({ authorization: `Bearer ${h.t.adminKey}` }).send({ disabled: true }).expect(200);
    const { request, channel } = await pendingRequest();
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, bob.slackUserId, 'pending', 0, /disabled/);
  });
});

describe('signed payloads of an odd shape', () => {
  it('are refused or ignored, never a 500, and change nothing', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request } = await pendingRequest();
    const payloads = [
      'null',
      '[]',
      '"approve"',
      JSON.stringify({ type: 'block_actions', user: { id: bob.slackUserId }, actions: [null] }),
      JSON.stringify({ type: 'block_actions', user: { id: bob.slackUserId }, actions: 'approve' }),
      JSON.stringify({ type: 'block_actions', user: { id: { $ne: null } }, actions: [{ action_id: 'approve', value: request.id }] }),
      JSON.stringify({ type: 'block_actions', user: { id: bob.slackUserId }, actions: [{ action_id: 'approve', value: { id: request.id } }] }),
      JSON.stringify({ type: 'block_actions', user: { id: bob.slackUserId }, actions: [{ action_id: 'approve_all', value: request.id }] }),
      JSON.stringify({ type: 'view_submission', user: { id: bob.slackUserId }, actions: [{ action_id: 'approve', value: request.id }] }),
    ];
    for (const payload of payloads) {
      const response = await postSigned(h, '/integrations/slack/interactions', `payload=${encodeURIComponent(payload)}`);
      expect([200, 400], `${payload} → ${response.status}`).toContain(response.status);
    }
    const notJson = await postSigned(h, '/integrations/slack/interactions', 'payload=%7Bnot-json');
    expect(notJson.status).toBe(400);
    expect(notJson.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await statusOf(h.t, request.id)).toBe('pending');
    expect(await reviewRows(h.t, request.id)).toHaveLength(0);
  });
});

describe('a replayed click', () => {
  it('on a request that needs more approvals: one review, told it was already reviewed', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, channel } = await pendingRequest({ required: 2, approverGroups: ['sre'] });
    const body = clickBody(bob.slackUserId, 'approve', request.id, channel);
    const at = h.t.clock.now();

    await postSigned(h, '/integrations/slack/interactions', body, at).expect(200);
    h.t.clock.advance(60_000); // Replayed a minute later: inside the signature window.
    await postSigned(h, '/integrations/slack/interactions', body, at).expect(200);

    const texts = await ephemeralTexts(h, bob.slackUserId, 2);
    expect(texts[1]).toMatch(/already reviewed/);
    expect(await reviewRows(h.t, request.id)).toHaveLength(1);
    expect(await statusOf(h.t, request.id)).toBe('pending');
  });

  it('on a request it approved: one review, one approval, told it was already reviewed', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, channel } = await pendingRequest();
    const body = clickBody(bob.slackUserId, 'approve', request.id, channel);
    const at = h.t.clock.now();

    await postSigned(h, '/integrations/slack/interactions', body, at).expect(200);
    await postSigned(h, '/integrations/slack/interactions', body, at).expect(200);

    const texts = await ephemeralTexts(h, bob.slackUserId, 2);
    expect(texts[1]).toMatch(/already reviewed/);
    expect(await reviewRows(h.t, request.id)).toHaveLength(1);
    const approvals = await h.t.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.requestId, request.id), eq(auditEvents.action, 'request.approved')));
    expect(approvals).toHaveLength(1);
  });
});

describe('identity (rule 10)', () => {
  it('maps a users.info answer without is_email_confirmed (as in Slack\'s own examples) by its e-mail', async () => {
    const bob = await h.t.principal({ groups: ['sre'] });
    const bobSlack = randomSlackId('U');
    h.slack.users.set(bobSlack, bob.email!);
    h.slack.userFlags.set(bobSlack, { is_email_confirmed: undefined });
    const { request, channel } = await pendingRequest();
    await click(h, bobSlack, 'approve', request.id, channel).expect(200);
    expect(await statusOf(h.t, request.id)).not.toBe('pending');
    expect(await slackUserIdOf(h, bob.id)).toBe(bobSlack);
  });

  it('maps a Slack e-mail to its canonical principal, links it, and still refuses self-review', async () => {
    const email = `alice-${Date.now()}@example.com`;
    const alice = await h.t.principal({ groups: ['dev', 'sre'], email });
    const aliceSlack = randomSlackId('U');
    h.slack.users.set(aliceSlack, ` ${email.toUpperCase().replace('EXAMPLE.COM', 'Example.com')}`);
    expect(await slackUserIdOf(h, alice.id)).toBeNull();

    // Her own request: the Slack user is Alice, so this is self-review.
    const { request, channel } = await pendingRequest(undefined, alice);
    await click(h, aliceSlack, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, aliceSlack, 'pending', 0, /your own request/);
    expect(await refusalsOf(request.id)).toEqual([
      expect.objectContaining({ actorId: alice.id, details: expect.objectContaining({ reason: 'self-review' }) }),
    ]);

    expect(await slackUserIdOf(h, alice.id)).toBe(aliceSlack);
    const linked = (await auditByAction(h.t, 'principal.linked', alice.id)).filter((event) => (event.details as { slackUserId: string }).slackUserId === aliceSlack);
    expect(linked).toHaveLength(1);
    expect(linked[0]!.details).toMatchObject({ principalId: alice.id, slackUserId: aliceSlack });

    // Once linked, the link is used without asking Slack again: still Alice, still refused.
    const lookups = h.slack.callsTo('users.info').length;
    await click(h, aliceSlack, 'deny', request.id, channel).expect(200);
    await ephemeralTexts(h, aliceSlack, 2);
    expect(h.slack.callsTo('users.info').length).toBe(lookups);
    expect(await reviewRows(h.t, request.id)).toHaveLength(0);

    // Through the API, too, she cannot approve her own request.
    const viaApi = await review(h.t, alice.key, request.id, 'approve');
    expect(viaApi.status).toBe(403);
  });

  it('does not take over a principal that is linked to another Slack account', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const impostor = randomSlackId('U');
    h.slack.users.set(impostor, bob.email.toUpperCase());
    const { request, channel } = await pendingRequest();
    await click(h, impostor, 'approve', request.id, channel).expect(200);
    await expectNothingChanged(request.id, impostor, 'pending', 0, /another Slack account/);
    expect(await slackUserIdOf(h, bob.id)).toBe(bob.slackUserId);
  });
});

describe('two Slack accounts with the same e-mail clicking at the same moment', () => {
  it('link one of them to the principal, never both, and the other is refused', async () => {
    const bob = await h.t.principal({ groups: ['sre'] });
    const [first, second] = [randomSlackId('U'), randomSlackId('U')];
    h.slack.users.set(first, bob.email!);
    h.slack.users.set(second, bob.email!.toUpperCase());
    const { request, channel } = await pendingRequest({ required: 2, approverGroups: ['sre'] });

    await Promise.all([click(h, first, 'approve', request.id, channel), click(h, second, 'approve', request.id, channel)]);
    const [firstText] = await ephemeralTexts(h, first);
    const [secondText] = await ephemeralTexts(h, second);

    const linkedTo = await slackUserIdOf(h, bob.id);
    expect([first, second]).toContain(linkedTo);
    const loser = linkedTo === first ? secondText : firstText;
    expect(loser).toMatch(/another Slack account/);
    expect(await auditByAction(h.t, 'principal.linked', bob.id)).toHaveLength(1);
    expect((await reviewRows(h.t, request.id)).map((row) => row.reviewerId)).toEqual([bob.id]);
  });
});

describe('two approvers clicking at the same moment', () => {
  it('approve a 2-of-N request exactly once, both reviews recorded, both shown', async () => {
    const bob = await slackPerson(h, { groups: ['sre'], displayName: 'Bob Concurrent' });
    const carol = await slackPerson(h, { groups: ['sre'], displayName: 'Carol Concurrent' });
    const { request, channel } = await pendingRequest({ required: 2, approverGroups: ['sre'] });

    const answers = await Promise.all([
      click(h, bob.slackUserId, 'approve', request.id, channel),
      click(h, carol.slackUserId, 'approve', request.id, channel),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);

    expect(await statusOf(h.t, request.id)).toBe('active');
    const rows = await reviewRows(h.t, request.id);
    expect(rows.map((row) => row.reviewerId).sort()).toEqual([bob.id, carol.id].sort());
    expect(rows.every((row) => row.channel === 'slack' && row.decision === 'approve')).toBe(true);
    const approvals = await h.t.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.requestId, request.id), eq(auditEvents.action, 'request.approved')));
    expect(approvals).toHaveLength(1);

    await runDeliveries(h);
    const shown = shownText(lastUpdateOf(h, request.id));
    expect(shown).toContain('Approved by Bob Concurrent');
    expect(shown).toContain('Approved by Carol Concurrent');
    expect(shown).toContain('Active until');
  });
});
