// SPEC §12 through Slack: the ending-soon DM carries Extend 1h; a signed click runs the very same
// extension command as POST /v1/requests/{id}/extend, with the same rules, and the clicker is told
// the outcome privately. Timing through the injected clock; deliveries run by the reconciler.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requests } from '../../src/db/schema.js';
import { auditOf, createProfile, openRequest, statusOf } from '../requests/helpers.js';
import {
  auth,
  blocksOf,
  click,
  ephemeralTexts,
  postSigned,
  postsOf,
  randomSlackId,
  runDeliveries,
  slackPerson,
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

type Person = Awaited<ReturnType<typeof slackPerson>>;
const dmChannelOf = (person: Person) => `D${person.slackUserId.slice(1)}`;

/**
 * An active 30-minute grant of alice's (auto-approved), the clock moved to its ending-soon
 * moment and the DM delivered. Returns the DM's Extend 1h button as Slack would show it.
 */
async function endingGrant(profile: { extension?: Record<string, unknown>; conditions?: Record<string, unknown>; slackChannel?: string } = {}) {
  const alice = await slackPerson(h, { groups: ['dev'] });
  const created = await createProfile(h.t, {
    approval: { required: 0, approverGroups: ['sre'], extension: { required: 0, maxTotalSeconds: 7200, ...profile.extension } },
    ...(profile.conditions === undefined ? {} : { conditions: profile.conditions }),
    ...(profile.slackChannel === undefined ? {} : { notify: { slackChannel: profile.slackChannel } }),
  });
  const request = await openRequest(h.t, alice.key, { profile: created.name, durationSeconds: 1800, justification: 'INC-42 hotfix on the payments API: roll back the failed migration and verify refunds' });
  expect(request.status).toBe('active');
  h.t.clock.set(new Date(Date.parse(request.endsAt!) - 290_000));
  await runDeliveries(h);
  await runDeliveries(h);
  const dms = postsOf(h, request.id).filter((call) => call.args['channel'] === dmChannelOf(alice));
  expect(dms, 'one ending-soon DM').toHaveLength(1);
  const actions = blocksOf(dms[0]!).find((block) => block.type === 'actions');
  const button = actions?.elements?.[0] as { action_id: string; value: string; text: { text: string } } | undefined;
  return { alice, request, endsAt: Date.parse(request.endsAt!), dm: dms[0]!, button: button! };
}

/** A signed block_actions payload for the button, clicked in the DM, exactly as Slack posts it. */
function clickExtend(slackUserId: string, button: { action_id: string; value: string }, channel: string) {
  const payload = {
    type: 'block_actions',
    user: { id: slackUserId, username: 'someone', team_id: 'T0TEAM' },
    team: { id: 'T0TEAM', domain: 'example' },
    api_app_id: 'A0BREVET',
    channel: { id: channel, name: 'directmessage' },
    container: { type: 'message', message_ts: '1700000001.000100', channel_id: channel, is_ephemeral: false },
    trigger_id: '123.456.abc',
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1/abc',
    actions: [{ type: 'button', action_id: button.action_id, block_id: 'extend', value: button.value, text: { type: 'plain_text', text: 'Extend 1h' }, action_ts: '1700000002.000000' }],
  };
  return postSigned(h, '/integrations/slack/interactions', `payload=${encodeURIComponent(JSON.stringify(payload))}`).expect(200);
}

async function parentOf(requestId: string) {
  const response = await h.t.http().get(`/v1/requests/${requestId}`).set(auth(h.t.adminKey)).expect(200);
  return response.body as { status: string; endsAt: string };
}

async function extensionsOf(requestId: string) {
  return h.t.deps.db.select().from(requests).where(and(eq(requests.parentId, requestId), eq(requests.kind, 'extension')));
}

describe('the ending-soon DM', () => {
  it('carries an Extend 1h button naming the request and the end it continues from', async () => {
    const { request, dm, button } = await endingGrant();
    expect(String(dm.args['text'])).toContain(`ends at ${request.endsAt}`);
    expect(button).toMatchObject({ action_id: 'extend-1h', value: `${request.id}@${request.endsAt}`, text: { text: 'Extend 1h' } });
  });
});

describe('a click by the requester', () => {
  it('auto-approved (extension.required 0): the end moves by one hour at once, and the requester is told the new end', async () => {
    const { alice, request, endsAt, button } = await endingGrant();
    await clickExtend(alice.slackUserId, button, dmChannelOf(alice));
    const newEnd = new Date(endsAt + 3600_000).toISOString();
    const [answer] = await ephemeralTexts(h, alice.slackUserId);
    expect(answer).toBe(`Extended: your access now ends at ${newEnd}.`);
    expect(await parentOf(request.id)).toMatchObject({ status: 'active', endsAt: newEnd });
    const [extension] = await extensionsOf(request.id);
    expect(extension).toMatchObject({ status: 'ended', durationSeconds: 3600, requesterId: alice.id, justification: 'Extended from Slack (Extend 1h button)' });
    const [extended] = await auditOf(h.t, request.id).then((rows) => rows.filter((row) => row.action === 'request.extended'));
    expect(extended).toMatchObject({ actorId: alice.id, details: { extensionId: extension!.id, durationSeconds: 3600 } });

    // The same click again (a replay, or a second tap) extends nothing more.
    await clickExtend(alice.slackUserId, button, dmChannelOf(alice));
    const [, again] = await ephemeralTexts(h, alice.slackUserId, 2);
    expect(again).toMatch(/^Not extended: this window was already extended/);
    expect((await parentOf(request.id)).endsAt).toBe(newEnd);
    expect(await extensionsOf(request.id)).toHaveLength(1);

    // The grant still ends where it now should: the end job moved with it.
    h.t.clock.set(new Date(endsAt + 60_000));
    await runDeliveries(h);
    expect(await statusOf(h.t, request.id)).toBe('active');
    h.t.clock.set(new Date(endsAt + 3600_000 + 1_000));
    await runDeliveries(h);
    expect(await statusOf(h.t, request.id)).toBe('ended');
  });

  it('reviewed (extension.required 1): the extension waits for an approver, whose approval moves the end', async () => {
    const channel = randomSlackId('C');
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { alice, request, endsAt, button } = await endingGrant({ extension: { required: 1 }, slackChannel: channel });
    await clickExtend(alice.slackUserId, button, dmChannelOf(alice));
    const [answer] = await ephemeralTexts(h, alice.slackUserId);
    expect(answer).toBe(`Extension asked for: 1 h more once 1 approver(s) agree; until then your access still ends at ${request.endsAt}.`);
    const [extension] = await extensionsOf(request.id);
    expect(extension).toMatchObject({ status: 'pending', durationSeconds: 3600 });
    expect((await parentOf(request.id)).endsAt).toBe(request.endsAt);

    // Approvers see it where the profile's approvals go, and approve it there.
    await runDeliveries(h);
    expect(postsOf(h, extension!.id).some((call) => call.args['channel'] === channel)).toBe(true);
    await click(h, bob.slackUserId, 'approve', extension!.id, channel).expect(200);
    expect(await parentOf(request.id)).toMatchObject({ status: 'active', endsAt: new Date(endsAt + 3600_000).toISOString() });
  });
});

describe('clicks that extend nothing', () => {
  it('by someone other than the requester', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const { request, button } = await endingGrant();
    await clickExtend(bob.slackUserId, button, dmChannelOf(bob));
    const [answer] = await ephemeralTexts(h, bob.slackUserId);
    expect(answer).toBe('Not extended: only the requester of this access can extend it.');
    expect((await parentOf(request.id)).endsAt).toBe(request.endsAt);
    expect(await extensionsOf(request.id)).toEqual([]);
  });

  it('once the grant is no longer active (revoked)', async () => {
    const { alice, request, button } = await endingGrant();
    await h.t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(h.t.adminKey)).send({ reason: 'incident closed' }).expect(200);
    await clickExtend(alice.slackUserId, button, dmChannelOf(alice));
    const [answer] = await ephemeralTexts(h, alice.slackUserId);
    expect(answer).toMatch(/^Not extended: this access cannot be extended any more \(only an active request is extended; this one is revoked\)\.$/);
    expect(await statusOf(h.t, request.id)).toBe('revoked');
    expect(await extensionsOf(request.id)).toEqual([]);
  });

  it('past maxTotalSeconds: told the limit, and how to ask for less through the API', async () => {
    const { alice, request, button } = await endingGrant({ extension: { maxTotalSeconds: 3600 } });
    await clickExtend(alice.slackUserId, button, dmChannelOf(alice));
    const [answer] = await ephemeralTexts(h, alice.slackUserId);
    expect(answer).toContain('Not extended: 1 h more would make the window 5400 s long; this profile allows at most 3600 s with extensions');
    expect(answer).toContain(`POST https://brevet.example.com/v1/requests/${request.id}/extend`);
    expect((await parentOf(request.id)).endsAt).toBe(request.endsAt);
    expect(await extensionsOf(request.id)).toEqual([]);
  });

  it('when the profile wants a longer justification than a button can honestly give', async () => {
    const { alice, request, button } = await endingGrant({ conditions: { minJustificationLength: 60 } });
    await clickExtend(alice.slackUserId, button, dmChannelOf(alice));
    const [answer] = await ephemeralTexts(h, alice.slackUserId);
    expect(answer).toBe(
      `Not extended: this profile needs a written justification (the justification needs at least 60 visible characters); extend with the CLI instead: \`brevet extend ${request.id} --reason "…" [--duration 30m]\` (or POST https://brevet.example.com/v1/requests/${request.id}/extend).`,
    );
    expect(await extensionsOf(request.id)).toEqual([]);
    expect((await auditOf(h.t, request.id)).filter((row) => row.action === 'request.refused')).toEqual([
      expect.objectContaining({ actorId: alice.id, details: expect.objectContaining({ command: 'extend', reason: 'condition-failed', condition: 'justification' }) }),
    ]);
  });

  it('a forged value (not a request and an end) is ignored', async () => {
    const { alice, request } = await endingGrant();
    for (const value of [request.id, `${request.id}@yesterday`, `../${request.id}@${request.endsAt}`]) {
      await clickExtend(alice.slackUserId, { action_id: 'extend-1h', value }, dmChannelOf(alice));
    }
    expect(await extensionsOf(request.id)).toEqual([]);
    expect(h.slack.callsTo('chat.postEphemeral').filter((call) => call.args['user'] === alice.slackUserId)).toEqual([]);
  });
});
