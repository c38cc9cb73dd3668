// SPEC §2 and §3 rules 1, 2: a review of a pending request is judged on one read without a lock,
// and lands only if the request row is still the version it was judged on. These tests move the
// row, or disable the requester, between the read and the write: nothing of the stale decision
// is written (no status, no review, no audit event).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEventsJson } from '../../src/audit/writer.js';
import { newId } from '../../src/domain/ids.js';
import { decide } from '../../src/domain/lifecycle.js';
import { applyDecision, factsOf } from '../../src/requests/apply-decision.js';
import { decideIfUnchanged, lockWithParent, readDecisionContext, type DecisionContext, type ReviewRow } from '../../src/requests/repo.js';
import type { TestApp } from '../support/app.js';
import { actionsOf, auth, createProfile, openRequest, review, reviewRows, startListeningApp, statusOf } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startListeningApp();
});
afterAll(async () => {
  await t?.close();
});

async function pendingRequest(required: number) {
  const profile = await createProfile(t, { approval: { required, approverGroups: ['sre'] } });
  const alice = await t.principal({ groups: ['dev'] });
  const bob = await t.principal({ groups: ['sre'] });
  const carol = await t.principal({ groups: ['sre'] });
  const request = await openRequest(t, alice.key, { profile: profile.name });
  return { alice, bob, carol, request };
}

/** A review that completes a 1-approval request (approve: active, deny: denied), as judged on `context`. */
function decideAsJudged(context: DecisionContext, reviewerId: string, decision: 'approve' | 'deny' = 'approve') {
  const now = t.clock.now();
  const window = decision === 'approve' ? { startsAt: now, endsAt: new Date(now.getTime() + 1_800_000) } : {};
  const updated = { ...context.request, status: decision === 'approve' ? ('active' as const) : ('denied' as const), decidedAt: now, ...window, updatedAt: now };
  const row: ReviewRow = { id: newId('rev'), requestId: updated.id, reviewerId, decision, comment: null, channel: 'api', postHoc: false, createdAt: now };
  const action = decision === 'approve' ? 'review.approved' : 'review.denied';
  const events = auditEventsJson([{ actor: { id: reviewerId, kind: 'person' }, action, requestId: updated.id, profileId: updated.profileId }], t.clock);
  return decideIfUnchanged(t.deps.db, { rowVersion: context.rowVersion, approving: decision === 'approve' }, updated, true, row, events);
}

describe('a decision judged on a row version that is no longer current', () => {
  it('reads the request, its reviews and its profile in one go', async () => {
    const { bob, request } = await pendingRequest(2);
    await review(t, bob.key, request.id, 'approve');
    const context = (await readDecisionContext(t.deps.db, request.id))!;
    expect(context.request).toMatchObject({ id: request.id, status: 'pending', approvalsRequired: 2 });
    expect(context.request.createdAt).toBeInstanceOf(Date);
    expect(context.reviews).toEqual(await reviewRows(t, request.id));
    expect(context).toMatchObject({ profileDeleted: false, requesterDisabled: false });
  });

  it('writes nothing once another review landed after the read', async () => {
    const { bob, carol, request } = await pendingRequest(1);
    const context = (await readDecisionContext(t.deps.db, request.id))!;
    expect((await review(t, bob.key, request.id, 'deny')).status).toBe(200);
    expect(await decideAsJudged(context, carol.id)).toBe(false);
    expect(await statusOf(t, request.id)).toBe('denied');
    expect((await reviewRows(t, request.id)).map((row) => row.reviewerId)).toEqual([bob.id]);
    expect(await actionsOf(t, request.id)).not.toContain('review.approved');
  });

  it('writes no approval once the requester was disabled after the read, and a denial still lands', async () => {
    const { alice, carol, request } = await pendingRequest(1);
    const context = (await readDecisionContext(t.deps.db, request.id))!;
    await t.http().patch(`/v1/principals/${alice.id}`).set(auth(t.adminKey)).send({ disabled: true }).expect(200);
    expect(await decideAsJudged(context, carol.id, 'approve')).toBe(false);
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toEqual([]);
    expect(await decideAsJudged(context, carol.id, 'deny')).toBe(true);
    expect(await statusOf(t, request.id)).toBe('denied');
  });

  it('writes nothing once a review that changes no status landed under the row lock after the read', async () => {
    const { bob, carol, request } = await pendingRequest(3);
    const context = (await readDecisionContext(t.deps.db, request.id))!;
    await t.deps.db.transaction(async (tx) => {
      const locked = (await lockWithParent(tx, request.id))!.request;
      const decision = decide(factsOf(locked, []), { kind: 'approve', reviewerId: bob.id }, t.clock.now());
      if (!decision.ok) throw new Error(decision.reason);
      expect(decision.status).toBe('pending');
      const review = { decision: 'approve' as const, comment: null, channel: 'api' as const };
      await applyDecision(tx, t.clock, locked, decision, { actor: { id: bob.id, kind: 'person' }, sourceIp: null, review });
    });
    expect((await readDecisionContext(t.deps.db, request.id))!.rowVersion).not.toBe(context.rowVersion);
    expect(await decideAsJudged(context, carol.id)).toBe(false);
    expect((await reviewRows(t, request.id)).map((row) => row.reviewerId)).toEqual([bob.id]);
  });

  it('lands when nothing changed: status, review and event together', async () => {
    const { carol, request } = await pendingRequest(1);
    const context = (await readDecisionContext(t.deps.db, request.id))!;
    expect(await decideAsJudged(context, carol.id)).toBe(true);
    expect(await statusOf(t, request.id)).toBe('active');
    expect((await reviewRows(t, request.id)).map((row) => row.reviewerId)).toEqual([carol.id]);
    expect(await actionsOf(t, request.id)).toContain('review.approved');
  });
});
