// SPEC §3 rules 1, 9 and 10: no one reviews their own request, whatever they are and however
// their identity is spelled; every refusal is audited.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principals } from '../../src/db/schema.js';
import type { TestApp } from '../support/app.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import {
  auditByAction,
  auth,
  createProfile,
  expectProblem,
  openRequest,
  review,
  reviewRows,
  startListeningApp,
  statusOf,
} from './helpers.js';

let t: TestApp;
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  t = await startListeningApp({ env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience } });
});
afterAll(async () => {
  await t?.close();
  await issuer?.close();
});

/** A token valid at the app's (injected) clock, whatever the wall clock says. */
async function tokenAtAppTime(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(t.clock.now().getTime() / 1000);
  return issuer.token({ iat: now, nbf: now, exp: now + 600, ...claims });
}

/** Expects the self-review refusal, its audit event, and no change to the request. */
async function expectSelfReviewRefused(credential: string, requesterId: string, requestId: string, decision: 'approve' | 'deny') {
  const before = (await auditByAction(t, 'review.refused', requesterId)).length;
  const response = await review(t, credential, requestId, decision);
  expectProblem(response, 403, 'self-review');

  const refused = (await auditByAction(t, 'review.refused', requesterId)).slice(before);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({
    actorId: requesterId,
    requestId,
    details: expect.objectContaining({ reason: 'self-review', decision }),
  });
  expect(await statusOf(t, requestId)).toBe('pending');
  expect(await reviewRows(t, requestId)).toHaveLength(0);
}

describe('the requester cannot review their own request', () => {
  it('refuses approve and deny from a requester who is also in the approver group', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev', 'sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    await expectSelfReviewRefused(alice.key, alice.id, request.id, 'approve');
    await expectSelfReviewRefused(alice.key, alice.id, request.id, 'deny');
  });

  it('refuses an admin who is in the approver group, and the refusals do not count toward N', async () => {
    const profile = await createProfile(t);
    const admin = await t.principal({ groups: ['dev', 'sre', 'brevet-admins'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, admin.key, { profile: profile.name });

    await expectSelfReviewRefused(admin.key, admin.id, request.id, 'approve');

    const approved = await review(t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
    expect(approved.body.reviews.map((r: { reviewerId: string }) => r.reviewerId)).toEqual([bob.id]);
  });

  it('refuses self-review of a request that needs two approvals, which the requester cannot make one of', async () => {
    const profile = await createProfile(t, { approval: { required: 2, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev', 'sre'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    await review(t, bob.key, request.id, 'approve').expect(200);
    const self = await review(t, alice.key, request.id, 'approve');
    expectProblem(self, 403, 'self-review');
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(1);
  });
});

describe('identities are compared canonically (rule 10)', () => {
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let profile: { name: string };

  beforeAll(async () => {
    const created = await t
      .http()
      .post('/v1/principals')
      .set(auth(t.adminKey))
      .send({ email: ' Alice@Example.com', displayName: 'Alice', groups: [] })
      .expect(201);
    const key = await t.http().post(`/v1/principals/${created.body.id}/api-keys`).set(auth(t.adminKey)).send({ name: 'laptop' }).expect(201);
    alice = { id: created.body.id, key: key.body.key };
    bob = await t.principal({ groups: [] });
    const bobEmail = (await t.http().get(`/v1/principals/${bob.id}`).set(auth(t.adminKey)).expect(200)).body.email as string;
    profile = await createProfile(t, {
      requesters: { principals: ['alice@EXAMPLE.com'] },
      approval: { required: 1, approverPrincipals: ['ALICE@example.com ', ` ${bobEmail.toUpperCase()}`] },
    });
  });

  it('stores an admin-created principal with its email canonical', async () => {
    const read = await t.http().get(`/v1/principals/${alice.id}`).set(auth(t.adminKey)).expect(200);
    expect(read.body.email).toBe('alice@example.com');
    const [row] = await t.deps.db.select({ email: principals.email }).from(principals).where(eq(principals.id, alice.id));
    expect(row!.email).toBe('alice@example.com');

    // The same person spelled differently is the same principal, not a second one.
    const again = await t.http().post('/v1/principals').set(auth(t.adminKey)).send({ email: 'ALICE@example.COM ', displayName: 'Alice 2' });
    expectProblem(again, 409, 'conflict');
  });

  it('stores the profile audiences canonical', async () => {
    const read = await t.http().get(`/v1/profiles/${profile.name}`).set(auth(t.adminKey)).expect(200);
    expect(read.body.requesters.principals).toEqual(['alice@example.com']);
    expect(read.body.approval.approverPrincipals).toContain('alice@example.com');
  });

  it('lets alice request through the canonical match, but never approve her own request', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    expect(request.requesterId).toBe(alice.id);
    await expectSelfReviewRefused(alice.key, alice.id, request.id, 'approve');

    // bob, listed with a differently spelled email, is an approver and his approval counts.
    const approved = await review(t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });

  it('resolves an OIDC token with email ALICE@EXAMPLE.COM to the same principal, which cannot self-approve', async () => {
    const token = await tokenAtAppTime({ sub: 'alice-oidc', email: 'ALICE@EXAMPLE.COM', groups: ['sre'], amr: ['pwd', 'mfa'] });
    const me = await t.http().get('/v1/me').set(auth(token)).expect(200);
    expect(me.body).toMatchObject({ id: alice.id, email: 'alice@example.com', mfa: true });

    // Made with the API key, refused to the token: one person, two credentials.
    const byKey = await openRequest(t, alice.key, { profile: profile.name });
    await expectSelfReviewRefused(token, alice.id, byKey.id, 'approve');

    // Made with the token, refused to the API key, even with alice now in an approver group.
    const byToken = await openRequest(t, token, { profile: profile.name });
    expect(byToken.requesterId).toBe(alice.id);
    await expectSelfReviewRefused(alice.key, alice.id, byToken.id, 'approve');
    await expectSelfReviewRefused(token, alice.id, byToken.id, 'deny');
  });
});

describe('an admin minting an approver', () => {
  it('cannot approve their own request through a service account they put in the approver group', async () => {
    const profile = await createProfile(t, { requesters: { groups: ['dev'] } });
    const admin = await t.principal({ groups: ['brevet-admins', 'dev'] });
    const request = await openRequest(t, admin.key, { profile: profile.name });
    const robot = await t.principal({ kind: 'service', displayName: 'robot', groups: ['sre'] });
    // A service account approves only when the profile names it by id: its groups do not count.
    const response = await review(t, robot.key, request.id, 'approve');
    expect(response.status).toBe(403);
    expect(response.body.type).toBe('not-eligible');
    const after = await t.http().get(`/v1/requests/${request.id}`).set(auth(admin.key)).expect(200);
    expect(after.body).toMatchObject({ status: 'pending', reviews: [] });
  });
});
