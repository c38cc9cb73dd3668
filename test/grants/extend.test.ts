// SPEC §12 Extend, through the API and the timed work with the injected clock: an extension is a
// request of its own, reviewed under approval.extension; approved, it moves its parent's end (and
// nothing else); refused or still pending when the parent ends, it moves nothing. SPEC §4 too:
// credentials issued after an extension may run to the new end, and two overlapping grants of one
// role by one person stay independent, deny-policy revocation included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../src/jobs/reconciler.js';
import { reconcileDeps } from '../jobs/helpers.js';
import {
  auditOf,
  auth,
  createProfile,
  expectProblem,
  issue,
  openRequest,
  requestRow,
  revoke,
  rolePolicy,
  roleArn,
  startHarness,
  uniqueName,
  type Harness,
} from '../credentials/helpers.js';

let h: Harness;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let stranger: { id: string; key: string };

beforeAll(async () => {
  h = await startHarness();
  alice = await h.t.principal({ groups: ['dev'] });
  bob = await h.t.principal({ groups: ['sre'] });
  stranger = await h.t.principal({ groups: ['dev'] });
});
afterAll(async () => {
  await h?.close();
});

const minutes = (n: number) => n * 60_000;

function extend(key: string, requestId: string, body: Record<string, unknown> = {}) {
  return h.t
    .http()
    .post(`/v1/requests/${requestId}/extend`)
    .set(auth(key))
    .send({ durationSeconds: 1800, justification: 'INC-42 needs another half hour', ...body });
}

function review(key: string, requestId: string, decision: 'approve' | 'deny') {
  return h.t.http().post(`/v1/requests/${requestId}/reviews`).set(auth(key)).send({ decision });
}

/** An active 30-minute grant of a profile whose requests and extensions need one approval from sre. */
async function activeGrant(approval: Record<string, unknown> = {}, profileOverrides: Record<string, unknown> = {}) {
  const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'], ...approval }, ...profileOverrides });
  const request = await openRequest(h.t, alice.key, profile.id, { durationSeconds: 1800 });
  if (request.status === 'pending') expect((await review(bob.key, request.id, 'approve')).status).toBe(200);
  const row = await requestRow(h.t, request.id);
  expect(row.status).toBe('active');
  return { profile, request: row };
}

describe('an extension reviewed like a request', () => {
  it('is created pending, linked to its parent; approved, the parent ends later by exactly N', async () => {
    const { request } = await activeGrant();
    h.t.clock.advance(minutes(10));
    const created = await extend(alice.key, request.id);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ kind: 'extension', parentId: request.id, status: 'pending', durationSeconds: 1800, approvalsRequired: 1 });
    expect((await requestRow(h.t, request.id)).endsAt).toEqual(request.endsAt);

    const approved = await review(bob.key, created.body.id, 'approve');
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    // A record, not a grant: approved and ended at once.
    expect(approved.body).toMatchObject({ status: 'ended', kind: 'extension' });
    const parent = await requestRow(h.t, request.id);
    expect(parent.status).toBe('active');
    expect(parent.endsAt!.getTime()).toBe(request.endsAt!.getTime() + 1800 * 1000);
    expect(parent.durationSeconds).toBe(3600);

    const [extended] = await auditOf(h.t, request.id, 'request.extended');
    expect(extended).toMatchObject({ actorId: bob.id, details: { extensionId: created.body.id, durationSeconds: 1800, previousEndsAt: request.endsAt!.toISOString(), endsAt: parent.endsAt!.toISOString() } });
    expect((await auditOf(h.t, created.body.id)).map((e) => e.action)).toEqual(['request.created', 'review.approved', 'request.approved', 'request.ended']);
  });

  it('denied, it moves nothing', async () => {
    const { request } = await activeGrant();
    const created = await extend(alice.key, request.id);
    expect((await review(bob.key, created.body.id, 'deny')).body).toMatchObject({ status: 'denied' });
    expect((await requestRow(h.t, request.id)).endsAt).toEqual(request.endsAt);
    expect(await auditOf(h.t, request.id, 'request.extended')).toEqual([]);
  });

  it('with extension.required 0 it is approved at creation, within maxTotalSeconds', async () => {
    const { request } = await activeGrant({ extension: { required: 0, maxTotalSeconds: 7200 } });
    const created = await extend(alice.key, request.id, { durationSeconds: 3600 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'extension', status: 'ended', approvalsRequired: 0 });
    expect((await requestRow(h.t, request.id)).endsAt!.getTime()).toBe(request.endsAt!.getTime() + 3600 * 1000);
    const [extended] = await auditOf(h.t, request.id, 'request.extended');
    // As with any auto-approved request, the approval is the requester's own act under the profile's rules.
    expect(extended).toMatchObject({ actorId: alice.id, details: { extensionId: created.body.id } });
  });

  it('a total past maxTotalSeconds is refused naming durationSeconds, and creates nothing', async () => {
    const { request } = await activeGrant({ extension: { required: 0, maxTotalSeconds: 3600 } });
    const refused = await extend(alice.key, request.id, { durationSeconds: 2700 });
    expectProblem(refused, 400, 'validation');
    expect(refused.body.errors).toEqual([{ field: '/body/durationSeconds', message: expect.stringContaining('3600') }]);
    expect((await requestRow(h.t, request.id)).endsAt).toEqual(request.endsAt);
    // Exactly the maximum is fine.
    expect((await extend(alice.key, request.id, { durationSeconds: 1800 })).body).toMatchObject({ status: 'ended' });
    // Earlier extensions count: the window is now at the maximum.
    expectProblem(await extend(alice.key, request.id, { durationSeconds: 900 }), 400, 'validation');
  });

  it('no self-review, and the rules of who may extend', async () => {
    const both = await h.t.principal({ groups: ['dev', 'sre'] });
    const profile = await createProfile(h.t, { approval: { required: 0, approverGroups: ['sre'], extension: { required: 1 } } });
    const request = await openRequest(h.t, both.key, profile.id);
    const created = await extend(both.key, request.id);
    expectProblem(await review(both.key, created.body.id, 'approve'), 403, 'self-review');

    expectProblem(await extend(bob.key, request.id), 403, 'forbidden');
    expect(await auditOf(h.t, request.id, 'request.refused')).toMatchObject([{ actorId: bob.id, details: { reason: 'not-allowed', command: 'extend' } }]);
    expectProblem(await extend(stranger.key, request.id), 404, 'not-found');
    expectProblem(await extend(both.key, 'req_nosuch'), 404, 'not-found');
    // One extension pending at a time; one too long is named as bad input first.
    expectProblem(await extend(both.key, request.id), 409, 'conflict');
    expectProblem(await extend(both.key, request.id, { durationSeconds: 43_200 }), 400, 'validation');
    // An extension is not a grant: it cannot be extended.
    expectProblem(await extend(both.key, created.body.id), 409, 'invalid-transition');
  });

  it('a request that is not active cannot be extended', async () => {
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const pending = await openRequest(h.t, alice.key, profile.id);
    expectProblem(await extend(alice.key, pending.id), 409, 'invalid-transition');
    expect((await revoke(h.t, alice.key, (await activeGrant()).request.id)).status).toBe(200);
  });

  it('bad input is refused naming the field', async () => {
    const { request } = await activeGrant();
    for (const body of [{ durationSeconds: 899 }, { durationSeconds: 43_201 }, { durationSeconds: '1h' }, { justification: '' }, { extra: 1 }]) {
      const response = await extend(alice.key, request.id, body);
      expectProblem(response, 400, 'validation');
    }
  });
});

describe('when the parent ends first', () => {
  it('revoked: the pending extension expires with it, and approving it then is a 409', async () => {
    const { request } = await activeGrant();
    const created = await extend(alice.key, request.id);
    expect((await revoke(h.t, alice.key, request.id)).status).toBe(200);
    expect((await requestRow(h.t, created.body.id)).status).toBe('expired');
    expect(await auditOf(h.t, created.body.id, 'request.expired')).toMatchObject([{ actorId: 'system', details: { reason: 'parent-ended', parentId: request.id } }]);
    expectProblem(await review(bob.key, created.body.id, 'approve'), 409, 'invalid-transition');
    // The end is the revocation's (SPEC §4.4), not one the extension moved.
    expect((await requestRow(h.t, request.id)).endsAt).toEqual(h.t.clock.now());
  });

  it('ended at its time: the pending extension expires', async () => {
    const { request } = await activeGrant();
    const created = await extend(alice.key, request.id);
    h.t.clock.set(new Date(request.endsAt!.getTime() + 1000));
    await reconcile(reconcileDeps(h.t));
    expect((await requestRow(h.t, request.id)).status).toBe('ended');
    expect((await requestRow(h.t, created.body.id)).status).toBe('expired');
    expectProblem(await review(bob.key, created.body.id, 'approve'), 409, 'invalid-transition');
  });
});

describe('the end moves with the window', () => {
  it('the reconciler ends the parent at the new end, not the old one', async () => {
    const { request } = await activeGrant({ extension: { required: 0 } });
    await extend(alice.key, request.id, { durationSeconds: 900 });
    h.t.clock.set(new Date(request.endsAt!.getTime() + 1000));
    await reconcile(reconcileDeps(h.t));
    expect((await requestRow(h.t, request.id)).status).toBe('active');
    h.t.clock.set(new Date(request.endsAt!.getTime() + 901_000));
    await reconcile(reconcileDeps(h.t));
    expect((await requestRow(h.t, request.id)).status).toBe('ended');
  });

  it('credentials issued after an extension may run to the new end, never past it', async () => {
    const { request } = await activeGrant({ extension: { required: 0 } });
    // 10 minutes left: too short for STS on its own.
    h.t.clock.set(new Date(request.endsAt!.getTime() - minutes(10)));
    expectProblem(await issue(h.t, alice.key, request.id), 409, 'window-too-short');
    await extend(alice.key, request.id, { durationSeconds: 1800 });
    const issued = await issue(h.t, alice.key, request.id);
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const expiration = new Date(issued.body.expiration as string).getTime();
    const newEnd = (await requestRow(h.t, request.id)).endsAt!.getTime();
    expect(expiration).toBeGreaterThan(request.endsAt!.getTime());
    expect(expiration).toBeLessThanOrEqual(newEnd);
  });
});

describe('overlapping grants of one role by one person are independent', () => {
  it('extending one moves only its own end', async () => {
    const profile = await createProfile(h.t, { approval: { required: 0, extension: { required: 0 } } });
    const first = await openRequest(h.t, alice.key, profile.id);
    const second = await openRequest(h.t, alice.key, profile.id);
    await extend(alice.key, first.id, { durationSeconds: 900 });
    expect((await requestRow(h.t, second.id)).endsAt!.toISOString()).toBe(second.endsAt);
    expect((await requestRow(h.t, first.id)).endsAt!.getTime()).toBe(new Date(first.endsAt!).getTime() + 900_000);
  });

  it('revoking one with a deny policy leaves the other issuable, its sessions outside the deny', async () => {
    const roleName = uniqueName('Overlap');
    const profile = await createProfile(h.t, { roleArn: roleArn(roleName), revocation: 'deny-policy' });
    const first = await openRequest(h.t, alice.key, profile.id);
    const second = await openRequest(h.t, alice.key, profile.id);
    expect((await issue(h.t, alice.key, first.id)).status).toBe(200);
    expect((await issue(h.t, alice.key, second.id)).status).toBe(200);

    const revoked = await revoke(h.t, alice.key, first.id);
    expect(revoked.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'applied' });
    const denied = JSON.stringify(rolePolicy(h.aws, roleName));
    expect(denied).toContain(`brevet-${first.id}`);
    expect(denied).not.toContain(`brevet-${second.id}`);

    expect((await requestRow(h.t, second.id)).status).toBe('active');
    expect((await issue(h.t, alice.key, second.id)).status).toBe(200);
    expectProblem(await issue(h.t, alice.key, first.id), 409, 'invalid-transition');
  });
});
