// SPEC §9 lists SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN apart, and rule 8 needs only the secret:
// Brevet starts with either alone. With the secret only, Slack's calls are verified and acted on
// (a linked approver's click approves) and Brevet calls Slack for nothing; with the token only,
// nothing Slack sends can be verified, so there is no Slack route at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfile, openRequest, statusOf } from '../requests/helpers.js';
import { click, clickBody, slackHeaders, slackPerson, startSlackApp, type SlackHarness } from './helpers.js';

describe('SLACK_SIGNING_SECRET without SLACK_BOT_TOKEN', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackApp({ SLACK_BOT_TOKEN: '' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('acts on a verified click of a linked approver, refuses a forged one, and calls Slack for nothing', async () => {
    const profile = await createProfile(h.t);
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });

    const body = clickBody(bob.slackUserId, 'approve', request.id);
    const forged = await h.t.http().post('/integrations/slack/interactions').set(slackHeaders(body, h.t.clock.now(), 'another-secret')).send(body);
    expect(forged.status).toBe(401);
    expect(await statusOf(h.t, request.id)).toBe('pending');

    expect((await click(h, bob.slackUserId, 'approve', request.id)).status).toBe(200);
    expect(await statusOf(h.t, request.id)).toBe('active');
    expect(h.slack.calls).toEqual([]);
  });
});

describe('SLACK_BOT_TOKEN without SLACK_SIGNING_SECRET', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackApp({ SLACK_SIGNING_SECRET: '' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('has no Slack route: nothing Slack sends could be verified', async () => {
    const profile = await createProfile(h.t);
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    expect((await click(h, bob.slackUserId, 'approve', request.id)).status).toBe(404);
    expect(await statusOf(h.t, request.id)).toBe('pending');
  });
});
