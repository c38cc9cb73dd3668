// SPEC §3 rules 2 and 9: only approvers eligible at review time, under the request's own profile
// version, may review; admins are not approvers by default; refused attempts are audited.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requests } from '../../src/db/schema.js';
import type { TestApp } from '../support/app.js';
import {
  auditByAction,
  auth,
  countRequests,
  createProfile,
  expectProblem,
  openRequest,
  postRequest,
  review,
  reviewRows,
  startListeningApp,
  statusOf,
} from './helpers.js';

let t: TestApp;
let bootstrapAdminId: string;

beforeAll(async () => {
  t = await startListeningApp();
  bootstrapAdminId = (await t.http().get('/v1/me').set(auth(t.adminKey)).expect(200)).body.id;
});
afterAll(async () => {
  await t?.close();
});

/** Expects a refused review with its audit event, and the request untouched. */
async function expectReviewRefused(
  credential: string,
  actorId: string,
  requestId: string,
  expected: { status: number; type: string },
): Promise<void> {
  const before = (await auditByAction(t, 'review.refused', actorId)).length;
  const response = await review(t, credential, requestId, 'approve');
  expectProblem(response, expected.status, expected.type);
  const refused = (await auditByAction(t, 'review.refused', actorId)).slice(before);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ actorId, requestId, details: expect.objectContaining({ reason: 'not-an-approver' }) });
  expect(await statusOf(t, requestId)).toBe('pending');
  expect(await reviewRows(t, requestId)).toHaveLength(0);
}

describe('reviews by non-approvers', () => {
  it('answers 403 not-eligible to an admin or auditor who may see the request but is not an approver', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const admin = await t.principal({ groups: ['brevet-admins'] });
    const auditor = await t.principal({ groups: ['brevet-auditors'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    // Admins are not approvers by default: neither the bootstrap admin nor a person admin.
    await expectReviewRefused(t.adminKey, bootstrapAdminId, request.id, { status: 403, type: 'not-eligible' });
    await expectReviewRefused(admin.key, admin.id, request.id, { status: 403, type: 'not-eligible' });
    await expectReviewRefused(auditor.key, auditor.id, request.id, { status: 403, type: 'not-eligible' });
  });

  it('answers 403 not-eligible to a principal who may not even read the request, and audits the attempt', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const colleague = await t.principal({ groups: ['dev'] });
    const stranger = await t.principal({ groups: [] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    await expectReviewRefused(colleague.key, colleague.id, request.id, { status: 403, type: 'not-eligible' });
    await expectReviewRefused(stranger.key, stranger.id, request.id, { status: 403, type: 'not-eligible' });
  });

  it('answers 404 for a request that does not exist', async () => {
    const bob = await t.principal({ groups: ['sre'] });
    const response = await review(t, bob.key, 'req_doesnotexist0000000000', 'approve');
    expectProblem(response, 404, 'not-found');
  });

  it('accepts an approver named by principal id rather than group', async () => {
    const bob = await t.principal({ groups: [] });
    const profile = await createProfile(t, { approval: { required: 1, approverPrincipals: [bob.id] } });
    const alice = await t.principal({ groups: ['dev'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    const reviewable = await t.http().get('/v1/requests?reviewable=true').set(auth(bob.key)).expect(200);
    expect(reviewable.body.items.map((r: { id: string }) => r.id)).toEqual([request.id]);
    const approved = await review(t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });

  it('lets an admin approve when the admin is also in an approver group', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const adminApprover = await t.principal({ groups: ['brevet-admins', 'sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    const approved = await review(t, adminApprover.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });
});

describe('eligibility is judged at review time', () => {
  it('refuses an approver removed from the approver group after the request was made', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    await t.http().patch(`/v1/principals/${bob.id}`).set(auth(t.adminKey)).send({ groups: ['dev'] }).expect(200);
    // No longer an approver, bob may not see the request either.
    await expectReviewRefused(bob.key, bob.id, request.id, { status: 403, type: 'not-eligible' });

    await t.http().patch(`/v1/principals/${bob.id}`).set(auth(t.adminKey)).send({ groups: ['sre'] }).expect(200);
    const approved = await review(t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });

  it('accepts an approver added to the approver group after the request was made', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const carol = await t.principal({ groups: ['ops'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    await t.http().patch(`/v1/principals/${carol.id}`).set(auth(t.adminKey)).send({ groups: ['ops', 'sre'] }).expect(200);
    const approved = await review(t, carol.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });

  it('judges a request by the profile version it was made under, even after the profile changed', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre-old'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const oldApprover = await t.principal({ groups: ['sre-old'] });
    const newApprover = await t.principal({ groups: ['sre-new'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    expect(request.profileVersion).toBe(1);

    const edited = await t
      .http()
      .patch(`/v1/profiles/${profile.id}`)
      .set(auth(t.adminKey))
      .send({ approval: { required: 2, approverGroups: ['sre-new'] }, requesters: { groups: ['ops'] } })
      .expect(200);
    expect(edited.body.version).toBe(2);

    const [row] = await t.deps.db.select().from(requests).where(eq(requests.id, request.id));
    expect(row).toMatchObject({ profileVersion: 1, approvalsRequired: 1 });

    // Version 1 named sre-old: sre-new may not review (nor see) this request.
    await expectReviewRefused(newApprover.key, newApprover.id, request.id, { status: 403, type: 'not-eligible' });
    // And one approval (version 1's N) completes it.
    const approved = await review(t, oldApprover.key, request.id, 'approve').expect(200);
    expect(approved.body).toMatchObject({ status: 'active', profileVersion: 1 });

    // New requests are judged by version 2: alice is no longer a requester.
    const refused = await postRequest(t, alice.key, { profile: profile.name });
    expectProblem(refused, 403, 'not-eligible');
    const opsMember = await t.principal({ groups: ['ops'] });
    const next = await openRequest(t, opsMember.key, { profile: profile.name });
    expect(next).toMatchObject({ profileVersion: 2, approvalsRequired: 2 });
    await expectReviewRefused(oldApprover.key, oldApprover.id, next.id, { status: 403, type: 'not-eligible' });
    const first = await review(t, newApprover.key, next.id, 'approve').expect(200);
    expect(first.body.status).toBe('pending');
  });

  it('refuses to approve a request whose profile was deleted afterwards; a deny still ends it', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    await t.http().delete(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(204);
    const refused = await review(t, bob.key, request.id, 'approve').expect(409);
    expect(refused.body.type).toBe('invalid-transition');
    const denied = await review(t, bob.key, request.id, 'deny').expect(200);
    expect(denied.body.status).toBe('denied');
  });
});

describe('requesters', () => {
  it('refuses a principal who is not a requester with 403 not-eligible, audits request.refused and creates nothing', async () => {
    const profile = await createProfile(t);
    const outsider = await t.principal({ groups: ['ops'] });
    const requestsBefore = await countRequests(t);

    for (const ref of [profile.name, profile.id]) expectProblem(await postRequest(t, outsider.key, { profile: ref }), 403, 'not-eligible');

    expect(await countRequests(t)).toBe(requestsBefore);
    const refused = await auditByAction(t, 'request.refused', outsider.id);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({
      actorId: outsider.id,
      actorKind: 'person',
      profileId: profile.id,
      requestId: null,
      details: expect.objectContaining({ reason: 'not-eligible' }),
    });
    // A name that does not exist is not found.
    expectProblem(await postRequest(t, outsider.key, { profile: `${profile.name}-x` }), 404, 'not-found');
  });

  it('does not let an approver, an admin or an auditor request a profile they are not requesters of', async () => {
    const profile = await createProfile(t);
    for (const groups of [['sre'], ['brevet-admins'], ['brevet-auditors']]) {
      const who = await t.principal({ groups });
      expectProblem(await postRequest(t, who.key, { profile: profile.name }), 403, 'not-eligible');
      expect(await auditByAction(t, 'request.refused', who.id)).toHaveLength(1);
    }
  });

  it('lists for a non-admin only the profiles they may request', async () => {
    const mine = await createProfile(t, { requesters: { groups: ['team-a'] }, approval: { required: 1, approverGroups: ['team-a-approvers'] } });
    const byPrincipal = await createProfile(t, { requesters: { groups: ['team-x'] }, approval: { required: 0 } });
    const theirs = await createProfile(t, { requesters: { groups: ['team-b'] }, approval: { required: 1, approverGroups: ['team-a'] } });
    const member = await t.principal({ groups: ['team-a'] });
    await t
      .http()
      .patch(`/v1/profiles/${byPrincipal.id}`)
      .set(auth(t.adminKey))
      .send({ requesters: { groups: ['team-x'], principals: [member.email!.toUpperCase()] } })
      .expect(200);

    const listed = await t.http().get('/v1/profiles').set(auth(member.key)).expect(200);
    const names = (listed.body.items as { name: string }[]).map((p) => p.name);
    expect(names).toContain(mine.name);
    expect(names).toContain(byPrincipal.name);
    expect(names).not.toContain(theirs.name);

    const stranger = await t.principal({ groups: [] });
    const none = await t.http().get('/v1/profiles').set(auth(stranger.key)).expect(200);
    expect(none.body.items).toEqual([]);
    expectProblem(await t.http().get(`/v1/profiles/${mine.name}`).set(auth(stranger.key)), 404, 'not-found');

    const all = await t.http().get('/v1/profiles').set(auth(t.adminKey)).expect(200);
    const allNames = (all.body.items as { name: string }[]).map((p) => p.name);
    expect(allNames).toEqual(expect.arrayContaining([mine.name, byPrincipal.name, theirs.name]));
  });
});

describe('reading a request', () => {
  it('shows it to its requester, its approvers, admins and auditors, and answers 404 to anyone else', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const admin = await t.principal({ groups: ['brevet-admins'] });
    const auditor = await t.principal({ groups: ['brevet-auditors'] });
    const colleague = await t.principal({ groups: ['dev'] });
    const stranger = await t.principal({ groups: [] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    for (const who of [alice, bob, admin, auditor]) {
      const read = await t.http().get(`/v1/requests/${request.id}`).set(auth(who.key));
      expect(read.status).toBe(200);
      expect(read.body.id).toBe(request.id);
    }
    for (const who of [colleague, stranger]) {
      const hidden = await t.http().get(`/v1/requests/${request.id}`).set(auth(who.key));
      expectProblem(hidden, 404, 'not-found');
      const missing = await t.http().get('/v1/requests/req_doesnotexist0000000000').set(auth(who.key));
      expect(missing.body).toMatchObject({ type: hidden.body.type, status: hidden.body.status, detail: hidden.body.detail });
    }
  });
});
