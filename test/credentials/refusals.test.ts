// SPEC §3 rules 4 and 9, §7: credentials only for an active request, only to its requester;
// every refusal is a problem, audited, and reaches no STS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTimedTransition } from '../../src/requests/run-timed-transition.js';
import { auditOf, auth, createProfile, expectProblem, issuancesOf, issue, openRequest, startHarness, type Harness, type RequestBody } from './helpers.js';

let h: Harness;
let approver: { id: string; key: string };
beforeAll(async () => {
  h = await startHarness();
  approver = await h.t.principal({ groups: ['sre'] });
});
afterAll(async () => {
  await h?.close();
});

const reviewed = { approval: { required: 1, approverGroups: ['sre'] } };

/** Each case brings a request into one state; its requester then asks for credentials. */
const states: Record<string, (requesterKey: string) => Promise<RequestBody>> = {
  async pending(key) {
    const profile = await createProfile(h.t, reviewed);
    return openRequest(h.t, key, profile.name);
  },
  async approved(key) {
    // Scheduled access: approved, its window not yet started.
    const profile = await createProfile(h.t);
    const startsAt = new Date(h.t.clock.now().getTime() + 3_600_000).toISOString();
    return openRequest(h.t, key, profile.name, { startsAt });
  },
  async denied(key) {
    const profile = await createProfile(h.t, reviewed);
    const request = await openRequest(h.t, key, profile.name);
    await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'deny' }).expect(200);
    return request;
  },
  async cancelled(key) {
    const profile = await createProfile(h.t, reviewed);
    const request = await openRequest(h.t, key, profile.name);
    await h.t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(key)).send({}).expect(200);
    return request;
  },
  async revoked(key) {
    const profile = await createProfile(h.t);
    const request = await openRequest(h.t, key, profile.name);
    await h.t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(key)).send({ reason: 'done' }).expect(200);
    return request;
  },
  async ended(key) {
    const profile = await createProfile(h.t);
    const request = await openRequest(h.t, key, profile.name);
    h.t.clock.set(new Date(new Date(request.endsAt!).getTime() + 1000));
    expect(await runTimedTransition(h.t.deps, request.id, 'end')).toBe(true);
    return request;
  },
  async 'active, its window past but not yet ended by the job'(key) {
    const profile = await createProfile(h.t);
    const request = await openRequest(h.t, key, profile.name);
    h.t.clock.set(new Date(request.endsAt!));
    return request;
  },
};

describe('a request that is not active', () => {
  for (const [state, bringTo] of Object.entries(states)) {
    it(`${state}: 409 invalid-transition, audited, no STS call, no issuance`, async () => {
      const requester = await h.t.principal({ groups: ['dev'] });
      const request = await bringTo(requester.key);
      const before = h.aws.assumeRoleCalls.length;

      for (const format of ['json', 'credential_process', 'env'] as const) {
        expectProblem(await issue(h.t, requester.key, request.id, format), 409, 'invalid-transition');
      }
      expectProblem(await h.t.http().post(`/v1/requests/${request.id}/console`).set(auth(requester.key)).send(), 409, 'invalid-transition');

      expect(h.aws.assumeRoleCalls).toHaveLength(before);
      expect(await issuancesOf(h.t, request.id)).toEqual([]);
      const refused = await auditOf(h.t, request.id, 'credentials.refused');
      expect(refused).toHaveLength(4);
      for (const event of refused) {
        expect(event).toMatchObject({ actorId: requester.id });
        expect(event.details).toMatchObject({ reason: 'not-active' });
      }
    });
  }
});

describe('anyone but the requester', () => {
  it.each([
    ['an approver of the request', 403, 'forbidden'],
    ['a stranger', 404, 'not-found'],
    ['an admin', 403, 'forbidden'],
  ] as const)('%s is refused with %i, audited, and no STS call is made', async (who, status, type) => {
    const profile = await createProfile(h.t, reviewed);
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name);
    await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve' }).expect(200);

    const caller =
      who === 'an approver of the request'
        ? approver
        : who === 'a stranger'
          ? await h.t.principal({ groups: ['dev'] })
          : { key: h.t.adminKey, id: (await h.t.http().get('/v1/me').set(auth(h.t.adminKey)).expect(200)).body.id as string };
    const before = h.aws.assumeRoleCalls.length;

    const credentials = await issue(h.t, caller.key, request.id, 'credential_process');
    expectProblem(credentials, status, type);
    expect(credentials.text).not.toMatch(/AccessKeyId|SecretAccessKey/);
    expectProblem(await h.t.http().post(`/v1/requests/${request.id}/console`).set(auth(caller.key)).send(), status, type);

    expect(h.aws.assumeRoleCalls).toHaveLength(before);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
    const refused = await auditOf(h.t, request.id, 'credentials.refused');
    expect(refused).toHaveLength(2);
    for (const event of refused) expect(event).toMatchObject({ actorId: caller.id });

    // The requester still gets them.
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
  });

  it('an unknown request id is 404 and reaches no STS', async () => {
    const requester = await h.t.principal({ groups: ['dev'] });
    const before = h.aws.assumeRoleCalls.length;
    expectProblem(await issue(h.t, requester.key, 'req_doesnotexist'), 404, 'not-found');
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
  });

  it('without authentication: 401', async () => {
    const before = h.aws.assumeRoleCalls.length;
    const response = await h.t.http().post('/v1/requests/req_whatever/credentials').send({ format: 'json' });
    expectProblem(response, 401, 'unauthenticated');
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
  });
});

describe('a deleted profile', () => {
  it('issues nothing more for its active requests', async () => {
    const { t, aws } = h;
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const request = await openRequest(t, alice.key, profile.name);
    await t.http().delete(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(204);
    const calls = aws.assumeRoleCalls.length;
    const refused = await issue(t, alice.key, request.id).expect(409);
    expect(refused.body.type).toBe('invalid-transition');
    expect(aws.assumeRoleCalls.length).toBe(calls);
  });
});

describe('ending a request one may see but not end', () => {
  it('an approver is refused revoke and cancel with 403, each audited as request.refused, and nothing changes', async () => {
    const profile = await createProfile(h.t, reviewed);
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name);
    await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve' }).expect(200);

    expectProblem(await h.t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(approver.key)).send({ reason: 'mine now' }), 403, 'forbidden');
    expectProblem(await h.t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(approver.key)).send({}), 403, 'forbidden');

    const refused = await auditOf(h.t, request.id, 'request.refused');
    expect(refused.map((event) => [event.actorId, event.details])).toEqual([
      [approver.id, { reason: 'not-allowed', command: 'revoke', status: 'active' }],
      [approver.id, { reason: 'not-allowed', command: 'cancel', status: 'active' }],
    ]);
    expect((await h.t.http().get(`/v1/requests/${request.id}`).set(auth(requester.key)).expect(200)).body.status).toBe('active');
  });
});
