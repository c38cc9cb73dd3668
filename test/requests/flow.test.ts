import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('request flow', () => {
  it('goes from pending to active with one approval and writes the audit trail', async () => {
    const profile = await t
      .http()
      .post('/v1/profiles')
      .set(auth(t.adminKey))
      .send({
        name: 'prod-admin',
        roleArn: 'arn:aws:iam::123456789012:role/Admin',
        maxDurationSeconds: 3600,
        defaultDurationSeconds: 1800,
        requesters: { groups: ['dev'] },
        approval: { required: 1, approverGroups: ['sre'] },
        conditions: { minJustificationLength: 10 },
        revocation: 'deny-policy',
        notify: { slackChannel: 'C0123' },
      })
      .expect(201);
    expect(profile.body).toMatchObject({ name: 'prod-admin', version: 1, approval: { required: 1, pendingTtlSeconds: 86400 } });

    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const created = await t
      .http()
      .post('/v1/requests')
      .set(auth(alice.key))
      .send({ profile: 'prod-admin', durationSeconds: 1800, justification: 'INC-42 hotfix on the payments API', ticket: 'INC-42' })
      .expect(201);
    expect(created.body).toMatchObject({ status: 'pending', profileVersion: 1, requesterId: alice.id, reviews: [], approvalsRequired: 1, startsAt: null, endsAt: null });

    const self = await t.http().post(`/v1/requests/${created.body.id}/reviews`).set(auth(alice.key)).send({ decision: 'approve' }).expect(403);
    expect(self.body.type).toBe('self-review');

    const approved = await t.http().post(`/v1/requests/${created.body.id}/reviews`).set(auth(bob.key)).send({ decision: 'approve', comment: 'ok' }).expect(200);
    expect(approved.body.status).toBe('active');
    expect(new Date(approved.body.endsAt).getTime() - new Date(approved.body.startsAt).getTime()).toBe(1800_000);

    const audit = await t.http().get(`/v1/audit?requestId=${created.body.id}&order=asc`).set(auth(t.adminKey)).expect(200);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual([
      'request.created',
      'review.refused',
      'review.approved',
      'request.approved',
      'request.activated',
    ]);

    const listed = await t.http().get('/v1/requests?mine=true').set(auth(alice.key)).expect(200);
    expect(listed.body.items).toHaveLength(1);
    const reviewable = await t.http().get('/v1/requests?reviewable=true').set(auth(bob.key)).expect(200);
    expect(reviewable.body.items).toHaveLength(0);
  });
});
