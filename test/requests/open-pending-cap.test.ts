// SPEC §1 `requesters.maxOpenPending`: one requester's pending requests on a profile are capped
// (0 = no cap, the default); over the cap a new request is refused with 409 `conflict`, audited,
// and creates nothing — also when many creates race.
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileVersions, requests } from '../../src/db/schema.js';
import type { TestApp } from '../support/app.js';
import { auditByAction, auth, countRequests, createProfile, expectProblem, openRequest, postRequest, startListeningApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startListeningApp();
});
afterAll(async () => {
  await t?.close();
});

const pendingOf = (requesterId: string, profileId: string) =>
  countRequests(t, and(eq(requests.requesterId, requesterId), eq(requests.profileId, profileId), eq(requests.status, 'pending')));

describe('requesters.maxOpenPending', () => {
  it('defaults to 0, no cap, and is echoed with the profile', async () => {
    const profile = await createProfile(t);
    expect(profile['requesters']).toEqual({ groups: ['dev'], principals: [], maxOpenPending: 0 });
    const alice = await t.principal({ groups: ['dev'] });
    for (let i = 0; i < 5; i += 1) await openRequest(t, alice.key, { profile: profile.name });
    expect(await pendingOf(alice.id, profile.id)).toBe(5);
  });

  it('refuses the request over the cap with 409 conflict, audited, and nothing created', async () => {
    const profile = await createProfile(t, { requesters: { groups: ['dev'], maxOpenPending: 2 } });
    const alice = await t.principal({ groups: ['dev'] });
    await openRequest(t, alice.key, { profile: profile.name });
    await openRequest(t, alice.key, { profile: profile.name });
    const third = await postRequest(t, alice.key, { profile: profile.name });
    expectProblem(third, 409, 'conflict');
    expect(third.body.detail).toMatch(/maxOpenPending/);
    expect(await pendingOf(alice.id, profile.id)).toBe(2);
    const refusals = await auditByAction(t, 'request.refused', alice.id);
    expect(refusals.map((e) => [e.profileId, e.details])).toEqual([[profile.id, { reason: 'max-open-pending', maxOpenPending: 2 }]]);

    // Someone else's requests are theirs: the cap is per requester.
    const bob = await t.principal({ groups: ['dev'] });
    await openRequest(t, bob.key, { profile: profile.name });
  });

  it('counts pending requests only: once one is cancelled or decided there is room again', async () => {
    const profile = await createProfile(t, { requesters: { groups: ['dev'], maxOpenPending: 1 } });
    const alice = await t.principal({ groups: ['dev'] });
    const sre = await t.principal({ groups: ['sre'] });
    const first = await openRequest(t, alice.key, { profile: profile.name });
    expectProblem(await postRequest(t, alice.key, { profile: profile.name }), 409, 'conflict');
    await t.http().post(`/v1/requests/${first.id}/cancel`).set(auth(alice.key)).send({}).expect(200);
    const second = await openRequest(t, alice.key, { profile: profile.name });
    await t.http().post(`/v1/requests/${second.id}/reviews`).set(auth(sre.key)).send({ decision: 'approve' }).expect(200);
    await openRequest(t, alice.key, { profile: profile.name });
  });

  it('never refuses a request that is approved on creation (it is not pending)', async () => {
    const profile = await createProfile(t, { requesters: { groups: ['dev'], maxOpenPending: 1 }, approval: { required: 0 } });
    const alice = await t.principal({ groups: ['dev'] });
    for (let i = 0; i < 3; i += 1) expect((await openRequest(t, alice.key, { profile: profile.name })).status).toBe('active');
  });

  it('holds under many concurrent creates by one requester: exactly the cap is created', async () => {
    const cap = 3;
    const profile = await createProfile(t, { requesters: { groups: ['dev'], maxOpenPending: cap } });
    const alice = await t.principal({ groups: ['dev'] });
    const answers = await Promise.all(Array.from({ length: 24 }, () => postRequest(t, alice.key, { profile: profile.name })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(cap);
    expect(statuses.filter((s) => s === 409)).toHaveLength(24 - cap);
    expect(await pendingOf(alice.id, profile.id)).toBe(cap);
  });

  it('does not burn an Idempotency-Key on a refusal: the same key creates once there is room', async () => {
    const profile = await createProfile(t, { requesters: { groups: ['dev'], maxOpenPending: 1 } });
    const alice = await t.principal({ groups: ['dev'] });
    const first = await openRequest(t, alice.key, { profile: profile.name });
    const keyed = () => postRequest(t, alice.key, { profile: profile.name }).set('idempotency-key', 'cap-retry-1');
    expectProblem(await keyed(), 409, 'conflict');
    await t.http().post(`/v1/requests/${first.id}/cancel`).set(auth(alice.key)).send({}).expect(200);
    const created = await keyed();
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const replayed = await keyed();
    expect(replayed.body.id).toBe(created.body.id);
  });

  it('is changed with PATCH, and a version stored before the field existed reads as no cap', async () => {
    const profile = await createProfile(t);
    const patched = await t.http().patch(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).send({ requesters: { maxOpenPending: 4 } }).expect(200);
    expect(patched.body.requesters).toEqual({ groups: ['dev'], principals: [], maxOpenPending: 4 });

    await t.deps.db
      .update(profileVersions)
      .set({ definition: sql`${profileVersions.definition} #- '{requesters,maxOpenPending}'` })
      .where(eq(profileVersions.profileId, profile.id));
    const read = await t.http().get(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(200);
    expect(read.body.requesters.maxOpenPending).toBe(0);
  });

  it('refuses a negative or fractional cap with 400 naming the field', async () => {
    for (const maxOpenPending of [-1, 1.5, 'two']) {
      const answer = await t
        .http()
        .post('/v1/profiles')
        .set(auth(t.adminKey))
        .send({ name: `cap-bad-${String(maxOpenPending).replace('.', '')}`.replace('-1', 'neg'), roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'], maxOpenPending }, approval: { required: 0 } });
      expectProblem(answer, 400, 'validation');
      expect(JSON.stringify(answer.body)).toContain('/body/requesters/maxOpenPending');
    }
  });
});
