// SPEC §3 rule 7 on Slack's entry points: a signed payload is still input. What Brevet reads from
// it obeys the same text rules as the API (src/domain/text.ts): refused with a 400 problem naming
// the field, never a 500, and nothing changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAudit, countRequests, createProfile, openRequest, reviewRows, statusOf } from '../requests/helpers.js';
import { clickBody, command, postSigned, slackPerson, startSlackApp, type SlackHarness } from './helpers.js';

let h: SlackHarness;
let requestId: string;
let approver: { slackUserId: string };
let requester: { key: string; slackUserId: string };
let profileName: string;

beforeAll(async () => {
  h = await startSlackApp();
  const profile = await createProfile(h.t);
  profileName = profile.name;
  requester = await slackPerson(h, { groups: ['dev'] });
  approver = await slackPerson(h, { groups: ['sre'] });
  requestId = (await openRequest(h.t, requester.key, { profile: profile.name })).id;
});
afterAll(async () => {
  await h?.close();
});

const counts = async () => ({ requests: await countRequests(h.t), audit: await countAudit(h.t) });

/** A click whose button value is `value` instead of the request id. */
const clickWithValue = (value: string) => clickBody(approver.slackUserId, 'approve', requestId).replace(encodeURIComponent(`"value":"${requestId}"`), encodeURIComponent(`"value":${JSON.stringify(value)}`));

describe('interactions', () => {
  it.each([
    ['NUL', `${'x'}\u0000`, /NUL/],
    ['a lone surrogate', 'req_\ud800', /surrogate/],
    ['a bidi override', 'req_\u202e', /U\+202E/],
  ])('refuses %s in the action value with a 400 naming it', async (_what, value, message) => {
    const before = await counts();
    const response = await postSigned(h, '/integrations/slack/interactions', clickWithValue(value));
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.errors).toEqual([{ field: '/body/payload/actions/0/value', message: expect.stringMatching(message) }]);
    expect(await counts()).toEqual(before);
    expect(await statusOf(h.t, requestId)).toBe('pending');
  });

  it.each(['../req', 'x'.repeat(65), ''])('ignores an action value that is no request id (%s)', async (value) => {
    const before = await counts();
    const response = await postSigned(h, '/integrations/slack/interactions', clickWithValue(value));
    expect(response.status).toBe(200);
    expect(await counts()).toEqual(before);
    expect(await reviewRows(h.t, requestId)).toHaveLength(0);
  });

  it('refuses NUL in the user id of a click', async () => {
    const body = clickBody(approver.slackUserId, 'approve', requestId).replace(encodeURIComponent(`"id":"${approver.slackUserId}"`), encodeURIComponent('"id":"U\\u0000X"'));
    const response = await postSigned(h, '/integrations/slack/interactions', body);
    expect(response.status).toBe(400);
    expect(response.body.errors[0].field).toBe('/body/payload/user/id');
  });
});

describe('slash commands', () => {
  it.each([
    ['NUL in the user id', () => command(h, 'U\u0000X', 'list'), '/body/user_id'],
    ['a bidi override in the text', () => command(h, requester.slackUserId, `request ${profileName} 30m fix \u202eit`), '/body/text'],
    ['NUL in the text', () => command(h, requester.slackUserId, `request ${profileName}\u0000 30m fix it`), '/body/text'],
  ])('refuses %s with a 400 naming the field', async (_what, send, field) => {
    const before = await counts();
    const response = await send();
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.errors[0].field).toBe(field);
    expect(await counts()).toEqual(before);
  });

  it('answers a justification with nothing visible in it, and requests nothing', async () => {
    const before = await counts();
    const response = await command(h, requester.slackUserId, `request ${profileName} 30m \u200b\u200b\u200b`);
    expect(response.status).toBe(200);
    expect(response.body.text).toMatch(/^Nothing was requested: .*justification has no visible characters/);
    expect(await counts()).toEqual(before);
  });
});
