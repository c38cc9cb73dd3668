// Issue 10 item 12: with SLACK_TEAM_ID / SLACK_APP_ID set, a correctly signed Slack call from
// another workspace or another app is refused (403 problem+json) and changes nothing: no review,
// no request, no audit, not even a users.info look-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allAudit, createProfile, expectProblem, openRequest, reviewRows, statusOf } from '../requests/helpers.js';
import { clickBody, command, ephemeralTexts, postSigned, randomSlackId, runDeliveries, slackPerson, startSlackApp, type SlackHarness } from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp({ SLACK_TEAM_ID: 'T0TEAM', SLACK_APP_ID: 'A0BREVET' });
});
afterAll(async () => {
  await h?.close();
});

/** A click body as the helpers build it, with the workspace and app ids replaced (or removed with null). */
function clickFrom(origin: { team: string | null; app: string | null }, slackUserId: string, requestId: string): string {
  const payload = JSON.parse(decodeURIComponent(clickBody(slackUserId, 'approve', requestId).replace(/^payload=/, ''))) as Record<string, unknown>;
  if (origin.team === null) delete payload['team'];
  else payload['team'] = { id: origin.team, domain: 'elsewhere' };
  if (origin.app === null) delete payload['api_app_id'];
  else payload['api_app_id'] = origin.app;
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function commandFrom(origin: { team: string | null; app: string | null }, slackUserId: string): string {
  const form = new URLSearchParams({ team_id: origin.team ?? '', api_app_id: origin.app ?? '', user_id: slackUserId, command: '/brevet', text: '' });
  if (origin.team === null) form.delete('team_id');
  if (origin.app === null) form.delete('api_app_id');
  return form.toString();
}

const foreign = [
  ['another workspace', { team: 'T0OTHER', app: 'A0BREVET' }],
  ['another app', { team: 'T0TEAM', app: 'A0OTHER' }],
  ['no workspace', { team: null, app: 'A0BREVET' }],
  ['no app', { team: 'T0TEAM', app: null }],
] as const;

describe('SLACK_TEAM_ID and SLACK_APP_ID', () => {
  it.each(foreign)('refuse a signed click from %s and change nothing', async (_name, origin) => {
    const profile = await createProfile(h.t, { notify: { slackChannel: randomSlackId('C') } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    await runDeliveries(h);
    const auditBefore = (await allAudit(h.t)).length;
    const callsBefore = h.slack.calls.length;

    const refused = await postSigned(h, '/integrations/slack/interactions', clickFrom(origin, bob.slackUserId, request.id));
    expectProblem(refused, 403, 'forbidden');
    expect(await statusOf(h.t, request.id)).toBe('pending');
    expect(await reviewRows(h.t, request.id)).toHaveLength(0);
    expect((await allAudit(h.t)).length).toBe(auditBefore);
    expect(h.slack.calls.slice(callsBefore)).toEqual([]);
  });

  it.each(foreign)('refuse a signed /brevet from %s', async (_name, origin) => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const callsBefore = h.slack.calls.length;
    const refused = await postSigned(h, '/integrations/slack/commands', commandFrom(origin, bob.slackUserId));
    expectProblem(refused, 403, 'forbidden');
    expect(h.slack.calls.slice(callsBefore)).toEqual([]);
  });

  it('accept calls from the configured workspace and app', async () => {
    const bob = await slackPerson(h, { groups: ['sre'] });
    const listed = await command(h, bob.slackUserId, '').expect(200);
    expect(listed.body).toMatchObject({ response_type: 'ephemeral' });

    const profile = await createProfile(h.t, { notify: { slackChannel: randomSlackId('C') } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    await postSigned(h, '/integrations/slack/interactions', clickBody(bob.slackUserId, 'approve', request.id)).expect(200);
    expect(await ephemeralTexts(h, bob.slackUserId)).toEqual(['You approved this request.']);
  });
});
