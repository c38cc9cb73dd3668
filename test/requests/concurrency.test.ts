// SPEC §2: concurrent commands on one request are serialised, so a request is never approved
// twice nor both denied and approved; Idempotency-Key makes racing retries create one request.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, requests } from '../../src/db/schema.js';
import type { TestApp } from '../support/app.js';
import {
  actionsOf,
  auth,
  countAudit,
  countRequests,
  createProfile,
  expectProblem,
  JUSTIFICATION,
  openRequest,
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

type Answer = { status: number; body: { type?: string; status?: string | number } };

async function principals(count: number, groups: string[]) {
  const made = [];
  for (let i = 0; i < count; i++) made.push(await t.principal({ groups }));
  return made;
}

describe('concurrent reviews', () => {
  it('counts 20 racing approvals of a 2-approval request exactly twice', async () => {
    const profile = await createProfile(t, { approval: { required: 2, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const approvers = await principals(20, ['sre']);
    const request = await openRequest(t, alice.key, { profile: profile.name });

    const answers: Answer[] = await Promise.all(approvers.map((approver) => review(t, approver.key, request.id, 'approve')));

    const accepted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    expect(accepted).toHaveLength(2);
    expect(accepted.map((a) => a.body.status).sort()).toEqual(['active', 'pending']);
    expect(refused).toHaveLength(18);
    for (const answer of refused) expect(answer).toMatchObject({ status: 409, body: { type: 'invalid-transition' } });

    expect(await statusOf(t, request.id)).toBe('active');
    const approvals = (await reviewRows(t, request.id)).filter((r) => r.decision === 'approve');
    expect(approvals).toHaveLength(2);
    const actions = await actionsOf(t, request.id);
    expect(actions.filter((a) => a === 'request.approved')).toHaveLength(1);
    expect(actions.filter((a) => a === 'request.activated')).toHaveLength(1);
    expect(actions.filter((a) => a === 'review.approved')).toHaveLength(2);
    expect(actions.filter((a) => a === 'review.refused')).toHaveLength(18);
  });

  it('counts 16 racing approvals of a 6-approval request exactly six times (judged again, then under the row lock)', async () => {
    const profile = await createProfile(t, { approval: { required: 6, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const approvers = await principals(16, ['sre']);
    const request = await openRequest(t, alice.key, { profile: profile.name });

    const answers: Answer[] = await Promise.all(approvers.map((approver) => review(t, approver.key, request.id, 'approve')));

    const accepted = answers.filter((a) => a.status === 200);
    expect(accepted.map((a) => a.body.status).sort()).toEqual(['active', 'pending', 'pending', 'pending', 'pending', 'pending']);
    for (const answer of answers.filter((a) => a.status !== 200)) expect(answer).toMatchObject({ status: 409, body: { type: 'invalid-transition' } });
    expect(await statusOf(t, request.id)).toBe('active');
    expect(await reviewRows(t, request.id)).toHaveLength(6);
    const actions = await actionsOf(t, request.id);
    expect(actions.filter((a) => a === 'review.approved')).toHaveLength(6);
    expect(actions.filter((a) => a === 'request.approved')).toHaveLength(1);
    expect(actions.filter((a) => a === 'review.refused')).toHaveLength(10);
  });

  it('counts one approver racing themselves once', async () => {
    const profile = await createProfile(t, { approval: { required: 2, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    const answers: Answer[] = await Promise.all(Array.from({ length: 10 }, () => review(t, bob.key, request.id, 'approve')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 200)) {
      expect(answer).toMatchObject({ status: 409, body: { type: 'already-reviewed' } });
    }
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(1);
  });

  it('ends each of 10 requests raced by an approve and a deny in exactly one outcome', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const [approver, denier] = await principals(2, ['sre']);
    const opened = [];
    for (let i = 0; i < 10; i++) opened.push(await openRequest(t, alice.key, { profile: profile.name }));

    const rounds = await Promise.all(
      opened.map(async (request) => {
        const [approve, deny]: Answer[] = await Promise.all([
          review(t, approver!.key, request.id, 'approve'),
          review(t, denier!.key, request.id, 'deny'),
        ]);
        return { request, approve: approve!, deny: deny! };
      }),
    );

    for (const { request, approve, deny } of rounds) {
      const status = await statusOf(t, request.id);
      const actions = await actionsOf(t, request.id);
      const reviews = await reviewRows(t, request.id);
      expect(reviews).toHaveLength(1);
      if (status === 'active') {
        expect(approve.status).toBe(200);
        expect(deny).toMatchObject({ status: 409, body: { type: 'invalid-transition' } });
        expect(reviews[0]!.decision).toBe('approve');
        expect([...actions].sort()).toEqual(['request.activated', 'request.approved', 'request.created', 'review.approved', 'review.refused']);
      } else {
        expect(status).toBe('denied');
        expect(deny.status).toBe(200);
        expect(approve).toMatchObject({ status: 409, body: { type: 'invalid-transition' } });
        expect(reviews[0]!.decision).toBe('deny');
        expect([...actions].sort()).toEqual(['request.created', 'request.denied', 'review.denied', 'review.refused']);
      }
    }
  });

  it('ends a request raced by its cancel and an approval in exactly one outcome', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    for (let round = 0; round < 5; round++) {
      const request = await openRequest(t, alice.key, { profile: profile.name });
      const [cancel, approve]: Answer[] = await Promise.all([
        t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({}),
        review(t, bob.key, request.id, 'approve'),
      ]);
      const status = await statusOf(t, request.id);
      const actions = await actionsOf(t, request.id);
      if (status === 'cancelled') {
        expect(cancel!.status).toBe(200);
        expect(approve).toMatchObject({ status: 409, body: { type: 'invalid-transition' } });
        expect(await reviewRows(t, request.id)).toHaveLength(0);
        expect(actions.filter((a) => a.startsWith('request.') && a !== 'request.created')).toEqual(['request.cancelled']);
      } else {
        expect(status).toBe('active');
        expect(approve!.status).toBe(200);
        expect(cancel).toMatchObject({ status: 409, body: { type: 'invalid-transition' } });
        expect(actions).not.toContain('request.cancelled');
        expect(actions.filter((a) => a === 'request.activated')).toHaveLength(1);
      }
    }
  });
});

describe('Idempotency-Key', () => {
  it('creates exactly one request from 20 racing identical POSTs, and every answer carries its id', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const body = { profile: profile.name, durationSeconds: 1800, justification: JUSTIFICATION };
    const key = `retry-${Date.now()}`;

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => t.http().post('/v1/requests').set(auth(alice.key)).set('idempotency-key', key).send(body)),
    );
    for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const ids = new Set(answers.map((a) => a.body.id as string));
    expect(ids.size).toBe(1);
    const [id] = [...ids];

    expect(await countRequests(t, eq(requests.requesterId, alice.id))).toBe(1);
    expect(await countAudit(t, and(eq(auditEvents.requestId, id!), eq(auditEvents.action, 'request.created')))).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(19);

    // A retry later returns the same request too.
    const later = await t.http().post('/v1/requests').set(auth(alice.key)).set('idempotency-key', key).send(body).expect(201);
    expect(later.body.id).toBe(id);
  });

  it('refuses the same key with a different body with 409 conflict, changing nothing', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const key = `retry-${Date.now()}`;
    const first = await t
      .http()
      .post('/v1/requests')
      .set(auth(alice.key))
      .set('idempotency-key', key)
      .send({ profile: profile.name, justification: JUSTIFICATION })
      .expect(201);
    const before = await countRequests(t);

    const different = await t
      .http()
      .post('/v1/requests')
      .set(auth(alice.key))
      .set('idempotency-key', key)
      .send({ profile: profile.name, justification: `${JUSTIFICATION}, and more` });
    expectProblem(different, 409, 'conflict');
    expect(await countRequests(t)).toBe(before);
    expect(await statusOf(t, first.body.id)).toBe('pending');
  });

  it('refuses racing POSTs that reuse one key with different bodies, creating one request', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const key = `race-${Date.now()}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t
          .http()
          .post('/v1/requests')
          .set(auth(alice.key))
          .set('idempotency-key', key)
          .send({ profile: profile.name, justification: `${JUSTIFICATION} #${i % 2}` }),
      ),
    );
    const created = answers.filter((a) => a.status === 201);
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    for (const answer of answers.filter((a) => a.status !== 201)) expect(answer.body.type).toBe('conflict');
    expect(await countRequests(t, eq(requests.requesterId, alice.id))).toBe(1);
  });

  it('scopes keys to the principal: another requester with the same key gets their own request', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const carol = await t.principal({ groups: ['dev'] });
    const key = `shared-${Date.now()}`;
    const body = { profile: profile.name, justification: JUSTIFICATION };
    const a = await t.http().post('/v1/requests').set(auth(alice.key)).set('idempotency-key', key).send(body).expect(201);
    const c = await t.http().post('/v1/requests').set(auth(carol.key)).set('idempotency-key', key).send(body).expect(201);
    expect(c.body.id).not.toBe(a.body.id);
    expect(c.body.requesterId).toBe(carol.id);
  });
});
