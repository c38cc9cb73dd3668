// SPEC §2: N-of-M approvals, denial, terminal states, auto-approval, scheduled windows and
// break-glass with its post-hoc review.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTimedTransition } from '../../src/requests/run-timed-transition.js';
import type { TestApp } from '../support/app.js';
import {
  actionsOf,
  auditByAction,
  auditOf,
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

beforeAll(async () => {
  t = await startListeningApp();
});
afterAll(async () => {
  await t?.close();
});

const seconds = (from: string, to: string) => (new Date(to).getTime() - new Date(from).getTime()) / 1000;

describe('N of M', () => {
  it('needs two distinct approvers when two are required, and an approver counts once', async () => {
    const profile = await createProfile(t, { approval: { required: 2, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const carol = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    expect(request.approvalsRequired).toBe(2);

    const first = await review(t, bob.key, request.id, 'approve', 'looks fine').expect(200);
    expect(first.body).toMatchObject({ status: 'pending', startsAt: null, endsAt: null });
    expect(first.body.reviews).toEqual([expect.objectContaining({ reviewerId: bob.id, decision: 'approve', comment: 'looks fine', channel: 'api' })]);

    // The same approver again: refused, audited, and not counted.
    for (const decision of ['approve', 'deny'] as const) {
      const again = await review(t, bob.key, request.id, decision);
      expectProblem(again, 409, 'already-reviewed');
    }
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(1);
    const refused = (await auditOf(t, request.id)).filter((e) => e.action === 'review.refused');
    expect(refused.map((e) => [e.actorId, (e.details as { reason: string }).reason])).toEqual([
      [bob.id, 'already-reviewed'],
      [bob.id, 'already-reviewed'],
    ]);

    // Reviews are listed in time order; the injected clock stands still unless moved.
    t.clock.advance(1_000);
    const second = await review(t, carol.key, request.id, 'approve').expect(200);
    expect(second.body.status).toBe('active');
    expect(second.body.reviews.map((r: { reviewerId: string }) => r.reviewerId)).toEqual([bob.id, carol.id]);
    expect(seconds(second.body.startsAt, second.body.endsAt)).toBe(1800);
    expect(second.body.startsAt).toBe(t.clock.now().toISOString());
    expect(await actionsOf(t, request.id)).toEqual([
      'request.created',
      'review.approved',
      'review.refused',
      'review.refused',
      'review.approved',
      'request.approved',
      'request.activated',
    ]);
    // Once the request has moved on, a second click of an approver is still "already reviewed".
    expectProblem(await review(t, carol.key, request.id, 'approve'), 409, 'already-reviewed');
    expect(await reviewRows(t, request.id)).toHaveLength(2);
  });

  it('ends the request as denied on one deny, even after an approval', async () => {
    const profile = await createProfile(t, { approval: { required: 2, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const carol = await t.principal({ groups: ['sre'] });
    const dave = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    await review(t, bob.key, request.id, 'approve').expect(200);
    const denied = await review(t, carol.key, request.id, 'deny', 'not during the freeze').expect(200);
    expect(denied.body).toMatchObject({ status: 'denied', startsAt: null, endsAt: null });
    expect(await actionsOf(t, request.id)).toEqual(['request.created', 'review.approved', 'review.denied', 'request.denied']);

    const late = await review(t, dave.key, request.id, 'approve');
    expectProblem(late, 409, 'invalid-transition');
    expect(await statusOf(t, request.id)).toBe('denied');
    expect(await reviewRows(t, request.id)).toHaveLength(2);
  });
});

describe('nothing leaves a terminal state', () => {
  async function setUp(extra: Record<string, unknown> = {}) {
    const profile = await createProfile(t, extra);
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const carol = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    return { alice, bob, carol, request };
  }

  async function expectInvalidTransition(key: string, requestId: string, status: string) {
    for (const decision of ['approve', 'deny'] as const) {
      const response = await review(t, key, requestId, decision);
      expectProblem(response, 409, 'invalid-transition');
    }
    expect(await statusOf(t, requestId)).toBe(status);
  }

  it('refuses to approve a cancelled request', async () => {
    const { alice, bob, request } = await setUp();
    const cancelled = await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({}).expect(200);
    expect(cancelled.body.status).toBe('cancelled');
    await expectInvalidTransition(bob.key, request.id, 'cancelled');
    expect(await reviewRows(t, request.id)).toHaveLength(0);
  });

  it('refuses to approve a denied request', async () => {
    const { bob, carol, request } = await setUp();
    await review(t, bob.key, request.id, 'deny').expect(200);
    await expectInvalidTransition(carol.key, request.id, 'denied');
  });

  it('refuses to approve an expired request', async () => {
    const { bob, request } = await setUp({ approval: { required: 1, approverGroups: ['sre'], pendingTtlSeconds: 60 } });
    expect(seconds(t.clock.now().toISOString(), request.pendingExpiresAt)).toBe(60);

    // Not due yet: the timed transition does nothing.
    expect(await runTimedTransition(t.deps, request.id, 'expire')).toBe(false);
    t.clock.advance(61_000);
    expect(await runTimedTransition(t.deps, request.id, 'expire')).toBe(true);
    // Idempotent: a second run (a retried job, the reconciler) changes nothing.
    expect(await runTimedTransition(t.deps, request.id, 'expire')).toBe(false);
    expect(await statusOf(t, request.id)).toBe('expired');
    const expired = await auditByAction(t, 'request.expired');
    expect(expired.filter((e) => e.requestId === request.id)).toEqual([expect.objectContaining({ actorId: 'system', actorKind: 'system' })]);

    await expectInvalidTransition(bob.key, request.id, 'expired');
  });

  it('refuses reviews of a pending request past its TTL, even before the expiry job ran', async () => {
    const { bob, carol, request } = await setUp({ approval: { required: 1, approverGroups: ['sre'], pendingTtlSeconds: 60 } });
    t.clock.advance(60_000);
    // A lost or late expiry job must not reopen the request to approval.
    for (const [who, decision] of [[bob, 'approve'], [carol, 'deny']] as const) {
      const late = await review(t, who.key, request.id, decision);
      expectProblem(late, 409, 'invalid-transition');
    }
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(0);
    const refused = (await auditOf(t, request.id)).filter((e) => e.action === 'review.refused');
    expect(refused.map((e) => (e.details as { reason: string }).reason)).toEqual(['expired', 'expired']);

    expect(await runTimedTransition(t.deps, request.id, 'expire')).toBe(true);
    expect(await statusOf(t, request.id)).toBe('expired');
  });

  it('refuses to approve a scheduled request once the window it asked for is over', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const startsAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
    const request = await openRequest(t, alice.key, { profile: profile.name, startsAt, durationSeconds: 900 });
    t.clock.advance(3_600_000 + 900_000);
    expectProblem(await review(t, bob.key, request.id, 'approve'), 409, 'invalid-transition');
    expect(await statusOf(t, request.id)).toBe('pending');
  });

  it('refuses to cancel what is already decided', async () => {
    const { alice, bob, request } = await setUp();
    await review(t, bob.key, request.id, 'approve').expect(200);
    const cancel = await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({});
    expectProblem(cancel, 409, 'invalid-transition');
    expect(await statusOf(t, request.id)).toBe('active');
  });
});

describe('auto-approval (required = 0)', () => {
  it('goes straight to active with request.created, request.approved and request.activated', async () => {
    const profile = await createProfile(t, { approval: { required: 0 } });
    const alice = await t.principal({ groups: ['dev'] });
    const request = await openRequest(t, alice.key, { profile: profile.name, durationSeconds: 900 });
    expect(request).toMatchObject({ status: 'active', approvalsRequired: 0, reviews: [], startsAt: t.clock.now().toISOString() });
    expect(seconds(request.startsAt!, request.endsAt!)).toBe(900);

    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'request.approved', 'request.activated']);
    for (const event of events) expect(event).toMatchObject({ actorId: alice.id, profileId: profile.id });
  });

  it('uses the profile default duration when none is given', async () => {
    const profile = await createProfile(t, { approval: { required: 0 }, defaultDurationSeconds: 1200 });
    const alice = await t.principal({ groups: ['dev'] });
    const response = await t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: profile.id, justification: 'x' }).expect(201);
    expect(response.body.durationSeconds).toBe(1200);
    expect(seconds(response.body.startsAt, response.body.endsAt)).toBe(1200);
  });
});

describe('scheduled access', () => {
  it('is approved with the window [startsAt, startsAt + duration) and activated when startsAt comes', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const startsAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
    const request = await openRequest(t, alice.key, { profile: profile.name, startsAt, durationSeconds: 1800 });
    expect(request).toMatchObject({ status: 'pending', startsAt });

    const approved = await review(t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body).toMatchObject({ status: 'approved', startsAt, endsAt: new Date(Date.parse(startsAt) + 1_800_000).toISOString() });
    expect(await actionsOf(t, request.id)).toEqual(['request.created', 'review.approved', 'request.approved']);

    expect(await runTimedTransition(t.deps, request.id, 'activate')).toBe(false);
    t.clock.advance(3_599_000);
    expect(await runTimedTransition(t.deps, request.id, 'activate')).toBe(false);
    t.clock.advance(1_000);
    expect(await runTimedTransition(t.deps, request.id, 'activate')).toBe(true);
    expect(await statusOf(t, request.id)).toBe('active');
    const activated = (await auditOf(t, request.id)).at(-1)!;
    expect(activated).toMatchObject({ action: 'request.activated', actorId: 'system' });

    // The window is not moved by the late activation.
    const read = await t.http().get(`/v1/requests/${request.id}`).set(auth(alice.key)).expect(200);
    expect(read.body).toMatchObject({ startsAt, endsAt: approved.body.endsAt });

    expect(await runTimedTransition(t.deps, request.id, 'end')).toBe(false);
    t.clock.advance(1_800_000);
    expect(await runTimedTransition(t.deps, request.id, 'end')).toBe(true);
    expect(await statusOf(t, request.id)).toBe('ended');
  });

  it('can be cancelled by the requester while approved and not yet started: revoked, as SPEC §2 draws it', async () => {
    const profile = await createProfile(t, { approval: { required: 0 } });
    const alice = await t.principal({ groups: ['dev'] });
    const startsAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
    const request = await openRequest(t, alice.key, { profile: profile.name, startsAt });
    expect(request.status).toBe('approved');
    const cancelled = await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({ reason: 'plans changed' }).expect(200);
    expect(cancelled.body.status).toBe('revoked');
    t.clock.advance(3_600_000);
    expect(await runTimedTransition(t.deps, request.id, 'activate')).toBe(false);
    expect(await statusOf(t, request.id)).toBe('revoked');
  });
});

describe('break-glass', () => {
  it('activates at once, is audited as break-glass, and records a post-hoc approval', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], breakGlass: true } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name, breakGlass: true, justification: 'prod is down, INC-99' });
    expect(request).toMatchObject({ status: 'active', breakGlass: true, startsAt: t.clock.now().toISOString() });
    expect(seconds(request.startsAt!, request.endsAt!)).toBe(1800);

    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'request.activated']);
    expect(events[1]).toMatchObject({ actorId: alice.id, details: expect.objectContaining({ breakGlass: true }) });

    const self = await review(t, alice.key, request.id, 'approve');
    expectProblem(self, 403, 'self-review');

    const approved = await review(t, bob.key, request.id, 'approve', 'justified').expect(200);
    expect(approved.body.status).toBe('active');
    expect(approved.body.reviews).toEqual([expect.objectContaining({ reviewerId: bob.id, decision: 'approve', postHoc: true })]);
    expect((await auditOf(t, request.id)).at(-1)).toMatchObject({ action: 'review.approved', details: expect.objectContaining({ postHoc: true }) });

    const again = await review(t, bob.key, request.id, 'approve');
    expectProblem(again, 409, 'already-reviewed');
  });

  it('is revoked by a post-hoc deny', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], breakGlass: true } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const carol = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name, breakGlass: true });

    await review(t, bob.key, request.id, 'approve').expect(200);
    t.clock.advance(1_000);
    const denied = await review(t, carol.key, request.id, 'deny', 'this was not an emergency').expect(200);
    expect(denied.body.status).toBe('revoked');
    expect(denied.body.reviews.map((r: { decision: string; postHoc: boolean }) => [r.decision, r.postHoc])).toEqual([
      ['approve', true],
      ['deny', true],
    ]);
    expect(await actionsOf(t, request.id)).toEqual([
      'request.created',
      'request.activated',
      'review.approved',
      'review.denied',
      'request.revoked',
    ]);
  });

  it('records a post-hoc deny of an ended break-glass request without changing its state', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], breakGlass: true } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name, breakGlass: true, durationSeconds: 900 });
    t.clock.advance(900_000);
    expect(await runTimedTransition(t.deps, request.id, 'end')).toBe(true);
    const denied = await review(t, bob.key, request.id, 'deny', 'should have asked').expect(200);
    expect(denied.body.status).toBe('ended');
    expect(denied.body.reviews).toEqual([expect.objectContaining({ reviewerId: bob.id, decision: 'deny', postHoc: true })]);
    expect((await actionsOf(t, request.id)).slice(-2)).toEqual(['request.ended', 'review.denied']);
  });

  it('does not change how a request without breakGlass is handled on a break-glass profile', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], breakGlass: true } });
    const alice = await t.principal({ groups: ['dev'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });
    expect(request).toMatchObject({ status: 'pending', breakGlass: false });
  });

  it('is refused with 403 on a profile without break-glass, audited, and creates nothing', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const before = await countRequests(t);
    const response = await postRequest(t, alice.key, { profile: profile.name, breakGlass: true });
    expect(response.status).toBe(403);
    expect(response.body.type).toMatch(/^(not-eligible|forbidden)$/);
    expect(await countRequests(t)).toBe(before);
    const refused = await auditByAction(t, 'request.refused', alice.id);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ profileId: profile.id, details: expect.objectContaining({ reason: expect.stringMatching(/break-glass/) }) });
  });

  it('does not let someone who may not request the profile use break-glass', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], breakGlass: true } });
    const bob = await t.principal({ groups: ['sre'] });
    expectProblem(await postRequest(t, bob.key, { profile: profile.name, breakGlass: true }), 403, 'not-eligible');
  });
});
