// SPEC §8: a new request becomes a Block Kit message with Approve / Deny in the profile's channel
// (or DMs to the approvers with a Slack identity when there is none); what people typed is shown
// literally; a profile whose approvals need MFA shows no buttons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackFailure, type SlackGateway } from '../../src/adapters/slack.js';
import { syncRequestMessages } from '../../src/slack/sync-messages.js';
import { createProfile, openRequest, ROLE_ARN } from '../requests/helpers.js';
import {
  blocksOf,
  click,
  lastUpdateOf,
  postsOf,
  PUBLIC_URL,
  randomSlackId,
  runDeliveries,
  shownText,
  slackMessagesOf,
  slackPerson,
  startSlackApp,
  textObjects,
  uniqueGroup,
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

describe('the message for a new request', () => {
  it('is posted to the profile channel with both buttons and the facts of the request', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { approval: { required: 2, approverGroups: ['sre'] }, notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'], displayName: 'Alice Requester' });
    const request = await openRequest(h.t, alice.key, {
      profile: profile.name,
      durationSeconds: 2700,
      justification: 'INC-42 hotfix on the payments API',
      ticket: 'INC-42',
    });

    await runDeliveries(h);

    const posts = postsOf(h, request.id);
    expect(posts).toHaveLength(1);
    const post = posts[0]!;
    expect(post.args['channel']).toBe(channel);
    expect(post.token).toBe('xoxb-test');

    const actions = blocksOf(post).filter((block) => block.type === 'actions');
    expect(actions).toHaveLength(1);
    const buttons = actions[0]!.elements!.map((button) => ({ type: button['type'], action_id: button['action_id'], value: button['value'] }));
    expect(buttons).toEqual([
      { type: 'button', action_id: 'approve', value: request.id },
      { type: 'button', action_id: 'deny', value: request.id },
    ]);

    const shown = shownText(post);
    expect(shown).toContain('Alice Requester');
    expect(shown).toContain(profile.name);
    expect(shown).toContain(ROLE_ARN);
    expect(shown).toContain('45 min');
    expect(shown).toContain('INC-42 hotfix on the payments API');
    expect(shown).toContain('Ticket: INC-42');
    expect(shown).toContain('0 of 2 approvals');
    expect(String(post.args['text'])).toContain(request.id);

    // The reference kept for updates in place is the one Slack answered with.
    const refs = await slackMessagesOf(h, request.id);
    expect(refs).toEqual([{ channel, ts: expect.stringMatching(/^\d+\.\d+$/) }]);
  });

  it('without a channel, is sent as a DM to each approver with a linked Slack id, never to the requester or unlinked approvers', async () => {
    const approvers = uniqueGroup('sre');
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: [approvers] } });
    // The requester is in the approver group too: still no DM for them.
    const alice = await slackPerson(h, { groups: ['dev', approvers] });
    const bob = await slackPerson(h, { groups: [approvers] });
    const carol = await slackPerson(h, { groups: [approvers] });
    const dave = await slackPerson(h, { groups: [approvers], linked: false });
    const erin = await slackPerson(h, { groups: ['dev'] }); // Linked, but not an approver.
    const request = await openRequest(h.t, alice.key, { profile: profile.name });

    const openedBefore = h.slack.callsTo('conversations.open').length;
    await runDeliveries(h);

    const opened = h.slack.callsTo('conversations.open').slice(openedBefore).map((call) => call.args['users']);
    expect(opened.sort()).toEqual([bob.slackUserId, carol.slackUserId].sort());
    for (const other of [alice, dave, erin]) expect(opened).not.toContain(other.slackUserId);

    const posts = postsOf(h, request.id);
    const dmChannels = [bob, carol].map((person) => `D${person.slackUserId.slice(1)}`).sort();
    expect(posts.map((post) => post.args['channel']).sort()).toEqual(dmChannels);
    for (const post of posts) expect(JSON.stringify(post.args['blocks'])).toContain('"action_id":"approve"');
    expect((await slackMessagesOf(h, request.id)).map((ref) => ref.channel).sort()).toEqual(dmChannels);

    // Bob approves from his DM: every approver's copy is updated in place, none is posted again.
    await click(h, bob.slackUserId, 'approve', request.id, `D${bob.slackUserId.slice(1)}`).expect(200);
    await runDeliveries(h);
    const refs = await slackMessagesOf(h, request.id);
    const updated = updatesOf(h, request.id).map((call) => ({ channel: call.args['channel'], ts: call.args['ts'] }));
    expect(updated).toEqual(expect.arrayContaining(refs));
    expect(postsOf(h, request.id)).toHaveLength(2);
  });

  it('approved at creation (required 0), is still posted to the profile channel, without buttons', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { approval: { required: 0 }, notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    expect(request.status).toBe('active');
    await runDeliveries(h);
    await runDeliveries(h);

    const posts = postsOf(h, request.id);
    expect(posts.map((post) => post.args['channel'])).toEqual([channel]);
    expect(blocksOf(posts[0]!).some((block) => block.type === 'actions')).toBe(false);
    expect(String(posts[0]!.args['text'])).toContain(request.id);
  });

  it('is posted once, however often its delivery runs', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    await runDeliveries(h);
    await runDeliveries(h);
    expect(postsOf(h, request.id)).toHaveLength(1);
  });
});

describe('DMs when Slack fails for one approver', () => {
  /** The app's own gateway, with the given calls failing once, as Slack would fail them. */
  function flakyGateway(failPostTo: Set<string>, failOpenFor: Set<string>): SlackGateway {
    const real = h.t.deps.slack!;
    return {
      ...real,
      postMessage: async (channel, text, blocks) => {
        if (failPostTo.delete(channel)) throw new SlackFailure('channel_not_found');
        return real.postMessage(channel, text, blocks);
      },
      openDirectMessage: async (user) => {
        if (failOpenFor.delete(user)) throw new SlackFailure('user_disabled');
        return real.openDirectMessage(user);
      },
    };
  }
  const dmOf = (person: { slackUserId: string }) => `D${person.slackUserId.slice(1)}`;

  it('a retry posts only the missing DMs: no approver gets the request twice, none is left out', async () => {
    const approvers = uniqueGroup('sre');
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: [approvers] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const [bob, carol, dave] = [
      await slackPerson(h, { groups: [approvers] }),
      await slackPerson(h, { groups: [approvers] }),
      await slackPerson(h, { groups: [approvers] }),
    ];
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    const deps = { db: h.t.deps.db, clock: h.t.clock, publicUrl: undefined };

    // Carol's DM cannot be posted and Dave's cannot even be opened, this time.
    const flaky = flakyGateway(new Set([dmOf(carol)]), new Set([dave.slackUserId]));
    await expect(syncRequestMessages({ ...deps, slack: flaky }, request.id)).rejects.toThrow(SlackFailure);
    expect((await slackMessagesOf(h, request.id)).map((ref) => ref.channel)).toEqual([dmOf(bob)]);

    await syncRequestMessages({ ...deps, slack: h.t.deps.slack! }, request.id);
    const postedTo = postsOf(h, request.id).map((post) => post.args['channel']);
    expect(postedTo.sort()).toEqual([dmOf(bob), dmOf(carol), dmOf(dave)].sort());
    expect((await slackMessagesOf(h, request.id)).map((ref) => ref.channel).sort()).toEqual(postedTo.sort());

    // Once complete, runs only update what was posted.
    await syncRequestMessages({ ...deps, slack: h.t.deps.slack! }, request.id);
    expect(postsOf(h, request.id)).toHaveLength(3);
  });
});

describe('what people typed', () => {
  const hostile = ['<!channel>', '<!here>', '<!everyone>', '<https://evil|Approve>', '*bold*', '<@U0ADMIN>'];

  it('is shown only inside plain_text elements; no mrkdwn and no fallback text carries it unescaped', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const mallory = await h.t.principal({ groups: ['dev'], displayName: '<!everyone> *Mallory* <https://evil|Approve>' });
    const bob = await slackPerson(h, { groups: ['sre'], displayName: '<!here> _Bob_' });
    const justification = 'INC-42 <!channel> please <https://evil|Approve> this *bold* request <@U0ADMIN> <!here>';
    const request = await openRequest(h.t, mallory.key, { profile: profile.name, justification, ticket: '<!channel>' });

    await runDeliveries(h);
    const post = postsOf(h, request.id)[0]!;
    expectInertText(post.args, justification);

    // The updated message names the reviewer: that is typed text too.
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    await runDeliveries(h);
    const update = lastUpdateOf(h, request.id);
    expectInertText(update.args, justification);
    expect(shownText(update)).toContain('<!here> _Bob_');
  });

  function expectInertText(args: Record<string, unknown>, justification: string) {
    const texts = textObjects(args['blocks']);
    expect(texts.some((t) => t.type === 'plain_text' && t.text.includes(justification))).toBe(true);
    for (const text of texts.filter((t) => t.type === 'mrkdwn')) {
      for (const needle of hostile) expect(text.text).not.toContain(needle);
    }
    // Button labels and every other text object Brevet emits are plain_text too.
    expect(texts.every((t) => t.type === 'plain_text' || !hostile.some((needle) => t.text.includes(needle)))).toBe(true);
    const fallback = String(args['text']);
    expect(fallback).not.toContain('<!');
    expect(fallback).not.toContain('<https://');
    expect(fallback).not.toContain('<@');
  }
});

describe('a profile whose approvals need MFA', () => {
  it('gets no buttons but a pointer to approve through the API', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, {
      approval: { required: 1, approverGroups: ['sre'], requireApproverMfa: true },
      notify: { slackChannel: channel },
    });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });

    await runDeliveries(h);
    const post = postsOf(h, request.id)[0]!;
    expect(blocksOf(post).filter((block) => block.type === 'actions')).toEqual([]);
    expect(JSON.stringify(post.args['blocks'])).not.toContain('"action_id"');
    const shown = shownText(post);
    expect(shown).toContain('MFA');
    expect(shown).toContain(`${PUBLIC_URL}/v1/requests/${request.id}/reviews`);
  });
});

describe('a reminder to approvers', () => {
  it('is a reply in the thread of the request message, sent once', async () => {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, {
      approval: { required: 1, approverGroups: ['sre'], pendingTtlSeconds: 7200, remindAfterSeconds: 600 },
      notify: { slackChannel: channel },
    });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    await runDeliveries(h);
    const [message] = await slackMessagesOf(h, request.id);

    h.t.clock.advance(601_000);
    await runDeliveries(h);
    await runDeliveries(h);
    const replies = h.slack.callsTo('chat.postMessage').filter((call) => call.args['thread_ts'] === message!.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.args).toMatchObject({ channel: message!.channel });
    expect(String(replies[0]!.args['text'])).toMatch(/^Reminder: .*0 of 1 approvals/);
  });
});
