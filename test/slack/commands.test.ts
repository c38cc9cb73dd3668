// SPEC §8: `/brevet` lists the caller's eligible profiles; `/brevet request <profile> <duration>
// <justification…>` opens a request as that person through the same command as the API — same
// eligibility, same conditions, same audit.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, requests } from '../../src/db/schema.js';
import { auditByAction, countRequests, createProfile, uniqueName } from '../requests/helpers.js';
import { auth, command, randomSlackId, slackPerson, slackUserIdOf, startSlackApp, type SlackHarness } from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterAll(async () => {
  await h?.close();
});

/** The private answer Slack shows the caller (the response body of the command). */
async function answer(slackUserId: string, text: string): Promise<string> {
  const response = await command(h, slackUserId, text);
  expect(response.status, response.text).toBe(200);
  expect(response.body).toMatchObject({ response_type: 'ephemeral' });
  return String(response.body.text);
}

async function requestsOf(principalId: string) {
  return h.t.deps.db.select().from(requests).where(eq(requests.requesterId, principalId));
}

describe('/brevet', () => {
  it("lists the caller's eligible profiles only", async () => {
    const devGroup = uniqueName('dev');
    const mine = await createProfile(h.t, { requesters: { groups: [devGroup] }, description: 'Payments on-call' });
    const alsoMine = await createProfile(h.t, { requesters: { groups: ['nobody'], principals: [] } });
    const notMine = await createProfile(h.t, { requesters: { groups: ['finance'] } });
    const alice = await slackPerson(h, { groups: [devGroup] });
    // Eligible by name, not by group.
    const patch = { requesters: { groups: ['nobody'], principals: [alice.id] } };
    await h.t.http().patch(`/v1/profiles/${alsoMine.id}`).set(auth(h.t.adminKey)).send(patch).expect(200);

    const text = await answer(alice.slackUserId, '');
    expect(text).toContain(mine.name);
    expect(text).toContain('Payments on-call');
    expect(text).toContain(alsoMine.name);
    expect(text).not.toContain(notMine.name);

    expect(await answer(alice.slackUserId, 'list')).toBe(text);
  });

  it('tells a caller with no eligible profile so', async () => {
    const loner = await slackPerson(h, { groups: [uniqueName('nobody')] });
    expect(await answer(loner.slackUserId, '')).toMatch(/no profile you may request/);
  });

  it('maps an unlinked caller by their Slack e-mail and links them', async () => {
    const group = uniqueName('dev');
    const profile = await createProfile(h.t, { requesters: { groups: [group] } });
    const bob = await slackPerson(h, { groups: [group], linked: false });
    expect(await answer(bob.slackUserId, '')).toContain(profile.name);
    expect(await slackUserIdOf(h, bob.id)).toBe(bob.slackUserId);
  });

  it('answers a Slack user Brevet does not know without doing anything', async () => {
    const stranger = randomSlackId('U');
    const before = await countRequests(h.t);
    expect(await answer(stranger, 'request anything 30m because')).toMatch(/not linked/);
    expect(await countRequests(h.t)).toBe(before);
  });

  it('shows usage for anything else', async () => {
    const alice = await slackPerson(h, { groups: ['dev'] });
    for (const text of ['help', 'approve req_1', 'request', 'request p1', 'request p1 30m', 'request p1 soon because']) {
      expect(await answer(alice.slackUserId, text), text).toMatch(/^Usage:/);
    }
    expect(await requestsOf(alice.id)).toEqual([]);
  });
});

describe('/brevet request', () => {
  it('opens a request as the caller, with the same rules as the API', async () => {
    const group = uniqueName('dev');
    const profile = await createProfile(h.t, { requesters: { groups: [group] }, maxDurationSeconds: 7200 });
    const alice = await slackPerson(h, { groups: [group] });

    const text = await answer(alice.slackUserId, `request ${profile.name} 30m INC-42   hotfix on the payments API`);
    const [created] = await requestsOf(alice.id);
    expect(created).toMatchObject({
      requesterId: alice.id,
      profileId: profile.id,
      durationSeconds: 1800,
      justification: 'INC-42 hotfix on the payments API',
      status: 'pending',
    });
    expect(text).toContain(created!.id);
    expect(text).toContain('pending');
    const [audited] = await h.t.deps.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.requestId, created!.id), eq(auditEvents.action, 'request.created')));
    expect(audited).toMatchObject({ actorId: alice.id });
  });

  it.each([
    ['30m', 1800],
    ['1h', 3600],
    ['1h30m', 5400],
    ['900', 900],
    ['1H', 3600],
  ])('parses the duration %s as %i seconds', async (duration, seconds) => {
    const group = uniqueName('dev');
    const profile = await createProfile(h.t, { requesters: { groups: [group] }, maxDurationSeconds: 7200 });
    const alice = await slackPerson(h, { groups: [group] });
    await answer(alice.slackUserId, `request ${profile.name} ${duration} INC-7 rotate the keys`);
    expect((await requestsOf(alice.id)).map((r) => r.durationSeconds)).toEqual([seconds]);
  });

  it('refuses a profile the caller may not request, audited as request.refused', async () => {
    const profile = await createProfile(h.t, { requesters: { groups: ['finance'] } });
    const mallory = await slackPerson(h, { groups: ['dev'] });
    const text = await answer(mallory.slackUserId, `request ${profile.name} 30m INC-1 just looking around`);
    expect(text).toMatch(/^Nothing was requested: .*may not request this profile/);
    const approver = await slackPerson(h, { groups: ['sre'] });
    expect(await answer(approver.slackUserId, `request ${profile.name} 30m INC-1 just looking around`)).toMatch(/may not request this profile/);
    expect(await requestsOf(mallory.id)).toEqual([]);
    const refused = await auditByAction(h.t, 'request.refused', mallory.id);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ profileId: profile.id, details: expect.objectContaining({ reason: 'not-eligible' }) });
  });

  it('refuses what the profile forbids: too long, too short a justification, a condition chat cannot prove', async () => {
    const group = uniqueName('dev');
    const profile = await createProfile(h.t, { requesters: { groups: [group] }, conditions: { minJustificationLength: 20 } });
    const mfaProfile = await createProfile(h.t, { requesters: { groups: [group] }, conditions: { requireMfa: true } });
    const alice = await slackPerson(h, { groups: [group] });

    expect(await answer(alice.slackUserId, `request ${profile.name} 2h INC-42 hotfix on the payments API`)).toMatch(/^Nothing was requested: /);
    expect(await answer(alice.slackUserId, `request ${profile.name} 10m INC-42 hotfix on the payments API`)).toMatch(/^Nothing was requested: /);
    expect(await answer(alice.slackUserId, `request ${profile.name} 30m too short`)).toMatch(/^Nothing was requested: /);
    // Chat proves no MFA.
    expect(await answer(alice.slackUserId, `request ${mfaProfile.name} 30m INC-42 hotfix on the payments API`)).toMatch(/^Nothing was requested: /);
    expect(await requestsOf(alice.id)).toEqual([]);
  });

  it('keeps what the caller typed inert in the answer', async () => {
    const alice = await slackPerson(h, { groups: ['dev'] });
    const text = await answer(alice.slackUserId, 'request <!channel> 30m INC-1 please <https://evil|Approve>');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://');
  });
});
