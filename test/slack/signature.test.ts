// SPEC §3 rules 7 and 8: Slack calls are verified over the exact bytes sent; a missing or wrong
// signature, or a timestamp more than 5 minutes away (past or future), gets a 401 and changes
// nothing. Only Slack's form bodies of a sane size are read at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignedBySlack } from '../../src/slack/signature.js';
import { allAudit, createProfile, expectProblem, openRequest, reviewRows, statusOf } from '../requests/helpers.js';
import {
  clickBody,
  FORM,
  postSigned,
  randomSlackId,
  runDeliveries,
  SIGNING_SECRET,
  slackHeaders,
  slackPerson,
  startSlackApp,
  type SlackHarness,
} from './helpers.js';

describe('isSignedBySlack', () => {
  // The worked example of https://api.slack.com/authentication/verifying-requests-from-slack.
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const timestamp = 1531420618;
  const signature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
  const body =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const at = (seconds: number) => new Date(seconds * 1000);
  const headers = { signature, timestamp: String(timestamp) };

  it("verifies Slack's documented example at its timestamp", () => {
    expect(isSignedBySlack(secret, body, headers, at(timestamp))).toBe(true);
    expect(isSignedBySlack(secret, body, headers, at(timestamp + 299))).toBe(true);
    expect(isSignedBySlack(secret, body, headers, at(timestamp - 299))).toBe(true);
    // Exactly 5 minutes away still passes, in whole seconds as Slack stamps them (and Bolt compares).
    expect(isSignedBySlack(secret, body, headers, new Date((timestamp + 300) * 1000 + 999))).toBe(true);
    expect(isSignedBySlack(secret, body, headers, at(timestamp - 300))).toBe(true);
  });

  it.each([
    ['another secret', '8f742231b10e8888abcd99yyyzzz85a6', body, headers, timestamp],
    ['another body', secret, `${body}&x=1`, headers, timestamp],
    ['a body that differs by one byte', secret, body.replace('roadrunner', 'roadrunneR'), headers, timestamp],
    ['no signature', secret, body, { signature: undefined, timestamp: String(timestamp) }, timestamp],
    ['no timestamp', secret, body, { signature, timestamp: undefined }, timestamp],
    ['another timestamp in the signed string', secret, body, { signature, timestamp: String(timestamp + 1) }, timestamp],
    ['a timestamp that is not digits', secret, body, { signature, timestamp: `${timestamp}.0` }, timestamp],
    ['a negative timestamp', secret, body, { signature, timestamp: `-${timestamp}` }, timestamp],
    ['an unknown scheme', secret, body, { signature: signature.replace('v0=', 'v1='), timestamp: String(timestamp) }, timestamp],
    ['the hash only', secret, body, { signature: signature.slice(3), timestamp: String(timestamp) }, timestamp],
    ['an empty hash', secret, body, { signature: 'v0=', timestamp: String(timestamp) }, timestamp],
    ['a truncated hash', secret, body, { signature: signature.slice(0, -2), timestamp: String(timestamp) }, timestamp],
    ['a stale timestamp (5 min 1 s ago)', secret, body, headers, timestamp + 301],
    ['a timestamp 5 min 1 s in the future', secret, body, headers, timestamp - 301],
    ['a timestamp 6 min in the future', secret, body, headers, timestamp - 360],
  ])('refuses %s', (_case, useSecret, useBody, useHeaders, nowSeconds) => {
    expect(isSignedBySlack(useSecret, useBody, useHeaders, at(nowSeconds))).toBe(false);
  });
});

describe('the Slack routes over HTTP', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackApp();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A pending request, an approver's click body for it, and a probe that nothing moved. */
  async function scenario() {
    const channel = randomSlackId('C');
    const profile = await createProfile(h.t, { notify: { slackChannel: channel } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await slackPerson(h, { groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    await runDeliveries(h);
    const body = clickBody(bob.slackUserId, 'approve', request.id, channel);
    const auditBefore = (await allAudit(h.t)).length;
    const slackCallsBefore = h.slack.calls.length;
    return {
      request,
      bob,
      body,
      async expectNothingChanged() {
        expect(await statusOf(h.t, request.id)).toBe('pending');
        expect(await reviewRows(h.t, request.id)).toHaveLength(0);
        // No review, no refusal, no link, not even a users.info look-up or an ephemeral answer.
        expect((await allAudit(h.t)).slice(auditBefore).filter((event) => event.action !== 'auth.denied')).toEqual([]);
        expect(h.slack.calls.slice(slackCallsBefore)).toEqual([]);
      },
    };
  }

  const interactions = '/integrations/slack/interactions';
  const minutes = (n: number) => n * 60_000;

  it.each([
    ['a missing signature', (body: string, now: Date) => withoutHeader(slackHeaders(body, now), 'x-slack-signature')],
    ['a missing timestamp', (body: string, now: Date) => withoutHeader(slackHeaders(body, now), 'x-slack-request-timestamp')],
    ['no Slack headers at all', () => ({ 'content-type': FORM })],
    ['a wrong signature', (body: string, now: Date) => ({ ...slackHeaders(body, now), 'x-slack-signature': `v0=${'0'.repeat(64)}` })],
    ['a signature made with another secret', (body: string, now: Date) => slackHeaders(body, now, 'not-the-signing-secret')],
    ['a valid signature for another body', (body: string, now: Date) => slackHeaders(body.replace('approve', 'deny'), now)],
    ['a timestamp older than 5 minutes', (body: string, now: Date) => slackHeaders(body, new Date(now.getTime() - minutes(5) - 1_000))],
    ['a timestamp 6 minutes in the future', (body: string, now: Date) => slackHeaders(body, new Date(now.getTime() + minutes(6)))],
  ])('refuses a click with %s: 401 problem, nothing changes', async (_case, headersFor) => {
    const s = await scenario();
    const response = await h.t.http().post(interactions).set(headersFor(s.body, h.t.clock.now())).send(s.body);
    expectProblem(response, 401, 'unauthenticated');
    await s.expectNothingChanged();
  });

  it('refuses an unsigned slash command too', async () => {
    const alice = await slackPerson(h, { groups: ['dev'] });
    const body = `command=%2Fbrevet&text=&user_id=${alice.slackUserId}`;
    const response = await h.t.http().post('/integrations/slack/commands').set({ 'content-type': FORM }).send(body);
    expectProblem(response, 401, 'unauthenticated');
    const stale = await h.t
      .http()
      .post('/integrations/slack/commands')
      .set(slackHeaders(body, new Date(h.t.clock.now().getTime() - minutes(10))))
      .send(body);
    expectProblem(stale, 401, 'unauthenticated');
  });

  it('accepts a signature whose timestamp is within the window on either side', async () => {
    const s = await scenario();
    const response = await postSigned(h, interactions, s.body, new Date(h.t.clock.now().getTime() + minutes(4)));
    expect(response.status).toBe(200);
    expect(await statusOf(h.t, s.request.id)).toBe('active');

    const other = await scenario();
    const late = await postSigned(h, interactions, other.body, new Date(h.t.clock.now().getTime() - minutes(4)));
    expect(late.status).toBe(200);
    expect(await statusOf(h.t, other.request.id)).toBe('active');
  });

  it('accepts the form content type with a charset parameter', async () => {
    const s = await scenario();
    const headers = { ...slackHeaders(s.body, h.t.clock.now()), 'content-type': `${FORM}; charset=utf-8` };
    expect((await h.t.http().post(interactions).set(headers).send(s.body)).status).toBe(200);
    expect(await statusOf(h.t, s.request.id)).toBe('active');
  });

  it('answers a signed ssl_check=1 with 200 and does nothing, whatever else the body carries; an unsigned one is 401', async () => {
    const s = await scenario();
    for (const path of [interactions, '/integrations/slack/commands']) {
      const body = 'ssl_check=1&token=legacy-verification-token';
      const response = await postSigned(h, path, body);
      expect(response.status).toBe(200);
      expect(response.text).toBe('');
      expectProblem(await h.t.http().post(path).set({ 'content-type': FORM }).send(body), 401, 'unauthenticated');
    }
    // A click riding next to ssl_check=1 is not acted upon, signed or not.
    expect((await postSigned(h, interactions, `ssl_check=1&${s.body}`)).status).toBe(200);
    expectProblem(await h.t.http().post(interactions).set({ 'content-type': FORM }).send(`ssl_check=1&${s.body}`), 401, 'unauthenticated');
    const command = await postSigned(h, '/integrations/slack/commands', `ssl_check=1&command=%2Fbrevet&text=request&user_id=${s.bob.slackUserId}`);
    expect(command.status).toBe(200);
    expect(command.text).toBe('');
    await s.expectNothingChanged();
  });

  it('answers an unsigned call 401 whatever its content type (JSON, text), before reading it', async () => {
    const s = await scenario();
    for (const [type, body] of [['application/json', '{"type":"block_actions"}'], ['text/plain', 'payload=x'], ['application/xml', '<x/>']] as const) {
      expectProblem(await h.t.http().post(interactions).set({ 'content-type': type }).send(body), 401, 'unauthenticated');
    }
    await s.expectNothingChanged();
  });

  it('refuses a signed JSON or text body with 415, and a wrongly signed one of any type with 401 (rule 8)', async () => {
    const s = await scenario();
    const json = JSON.stringify({ payload: JSON.parse(decodeURIComponent(s.body.slice('payload='.length))) });
    const signed = { ...slackHeaders(json, h.t.clock.now()), 'content-type': 'application/json' };
    expectProblem(await h.t.http().post(interactions).set(signed).send(json), 415, 'unsupported-media-type');
    const text = { ...slackHeaders('payload=x', h.t.clock.now()), 'content-type': 'text/plain' };
    expectProblem(await h.t.http().post(interactions).set(text).send('payload=x'), 415, 'unsupported-media-type');
    for (const [type, body] of [
      ['application/json', json],
      ['application/json', '{not json'],
      ['text/plain', 'payload=x'],
      ['application/xml', '<a/>'],
    ] as const) {
      for (const route of [interactions, '/integrations/slack/commands']) {
        const wrong = { ...slackHeaders(body, h.t.clock.now()), 'x-slack-signature': 'v0=deadbeef', 'content-type': type };
        expectProblem(await h.t.http().post(route).set(wrong).send(body), 401, 'unauthenticated');
      }
    }
    await s.expectNothingChanged();
  });

  it('refuses a body over 64 KiB with 413, even when signed', async () => {
    const s = await scenario();
    const big = `${s.body}&padding=${'a'.repeat(64 * 1024)}`;
    expectProblem(await postSigned(h, interactions, big), 413, 'payload-too-large');
    expectProblem(await postSigned(h, '/integrations/slack/commands', `command=%2Fbrevet&text=${'a'.repeat(70_000)}`), 413, 'payload-too-large');
    await s.expectNothingChanged();
  });

  it('keeps the signing secret out of answers and logs', async () => {
    const s = await scenario();
    const response = await h.t.http().post(interactions).set({ ...slackHeaders(s.body, h.t.clock.now()), 'x-slack-signature': 'v0=bad' }).send(s.body);
    expect(response.status).toBe(401);
    const secret = SIGNING_SECRET;
    expect(response.text).not.toContain(secret);
    expect(h.t.logs.join('\n')).not.toContain(secret);
    // The stand-in saw the bot token as a bearer token, never in a body.
    expect(JSON.stringify(h.slack.calls.map((call) => call.args))).not.toContain('xoxb-test');
  });
});

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  const { [name]: _dropped, ...rest } = headers;
  return rest;
}
