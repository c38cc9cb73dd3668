// SPEC §7 (PATCH /v1/me, PATCH /v1/principals/{id}) and §3 rule 10: a person links their own Slack
// user only — Slack's profile e-mail must be theirs — since clicks from that Slack user then count
// as theirs. One Slack user belongs to one principal. Admins may link any.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditByAction, expectProblem } from '../requests/helpers.js';
import { auth, randomSlackId, slackUserIdOf, startSlackApp, type SlackHarness } from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterAll(async () => {
  await h?.close();
});

const linkMe = (key: string, slackUserId: string | null) => h.t.http().patch('/v1/me').set(auth(key)).send({ slackUserId });
const linkAsAdmin = (principalId: string, slackUserId: string | null) =>
  h.t.http().patch(`/v1/principals/${principalId}`).set(auth(h.t.adminKey)).send({ slackUserId });

describe('PATCH /v1/me {slackUserId}', () => {
  it("links the caller's own Slack user (its e-mail is the caller's, however spelled) and audits it", async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    const slackUserId = randomSlackId('U');
    h.slack.users.set(slackUserId, `  ${alice.email!.toUpperCase()} `);

    const response = await linkMe(alice.key, slackUserId).expect(200);
    expect(response.body).toMatchObject({ id: alice.id, slackUserId });
    expect(await slackUserIdOf(h, alice.id)).toBe(slackUserId);
    const [audited] = (await auditByAction(h.t, 'principal.updated', alice.id)).slice(-1);
    expect(audited!.details).toMatchObject({ principalId: alice.id, changes: { slackUserId } });

    // And unlinks with null.
    await linkMe(alice.key, null).expect(200);
    expect(await slackUserIdOf(h, alice.id)).toBeNull();
  });

  it("refuses (403) a Slack user whose e-mail is someone else's", async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await h.t.principal({ groups: ['sre'] });
    const bobsSlack = randomSlackId('U');
    h.slack.users.set(bobsSlack, bob.email!);

    expectProblem(await linkMe(alice.key, bobsSlack), 403, 'forbidden');
    expect(await slackUserIdOf(h, alice.id)).toBeNull();
    expect(await slackUserIdOf(h, bob.id)).toBeNull();
  });

  it('refuses (403) a Slack user Slack does not know', async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    expectProblem(await linkMe(alice.key, randomSlackId('U')), 403, 'forbidden');
    expect(await slackUserIdOf(h, alice.id)).toBeNull();
  });

  it('answers 409 when the Slack user is linked to another principal', async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await h.t.principal({ groups: ['sre'] });
    const slackUserId = randomSlackId('U');
    h.slack.users.set(slackUserId, alice.email!);
    await linkAsAdmin(bob.id, slackUserId).expect(200);

    expectProblem(await linkMe(alice.key, slackUserId), 409, 'conflict');
    expect(await slackUserIdOf(h, alice.id)).toBeNull();
    expect(await slackUserIdOf(h, bob.id)).toBe(slackUserId);
  });

  it('answers 503 (not 403) when Slack cannot be asked, and links nothing', async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    const slackUserId = randomSlackId('U');
    h.slack.users.set(slackUserId, alice.email!);
    h.slack.failNext({ kind: 'http-500' });
    expectProblem(await linkMe(alice.key, slackUserId), 503, 'unavailable');
    expect(await slackUserIdOf(h, alice.id)).toBeNull();
  });

  it('refuses an id that is not a Slack user id (400)', async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    for (const slackUserId of ['', 'u123', 'C0123ABC', 'U1', `U${'A'.repeat(40)}`]) {
      expectProblem(await linkMe(alice.key, slackUserId), 400, 'validation');
    }
    expectProblem(await h.t.http().patch('/v1/me').set(auth(alice.key)).send({ slackUserId: 'UABC123', groups: ['sre'] }), 400, 'validation');
  });
});

describe('PATCH /v1/principals/{id} {slackUserId} (admin)', () => {
  it('links any Slack user to any principal, whatever its e-mail', async () => {
    const dave = await h.t.principal({ groups: ['ops'] });
    const slackUserId = randomSlackId('U');
    h.slack.users.set(slackUserId, 'someone-else@example.com');
    const response = await linkAsAdmin(dave.id, slackUserId).expect(200);
    expect(response.body).toMatchObject({ id: dave.id, slackUserId });
    expect(h.slack.callsTo('users.info').some((call) => call.args['user'] === slackUserId)).toBe(false);
  });

  it('refuses (409) a Slack user already linked to another principal', async () => {
    const erin = await h.t.principal({ groups: ['ops'] });
    const frank = await h.t.principal({ groups: ['ops'] });
    const slackUserId = randomSlackId('U');
    await linkAsAdmin(erin.id, slackUserId).expect(200);
    expectProblem(await linkAsAdmin(frank.id, slackUserId), 409, 'conflict');
    expect(await slackUserIdOf(h, frank.id)).toBeNull();
  });

  it('is for admins only', async () => {
    const alice = await h.t.principal({ groups: ['dev'] });
    const response = await h.t.http().patch(`/v1/principals/${alice.id}`).set(auth(alice.key)).send({ slackUserId: randomSlackId('U') });
    expect(response.status).toBe(403);
    expect(await slackUserIdOf(h, alice.id)).toBeNull();
  });
});
