// SPEC §3 rule 7: bad input gets a 4xx problem naming the field, never a 500, and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import {
  auth,
  countAudit,
  countRequests,
  createProfile,
  expectProblem,
  fieldsOf,
  JUSTIFICATION,
  openRequest,
  reviewRows,
  startListeningApp,
  statusOf,
  type CreatedProfile,
} from './helpers.js';

let t: TestApp;
let profile: CreatedProfile;
let alice: { id: string; key: string };
let bob: { id: string; key: string };

beforeAll(async () => {
  t = await startListeningApp();
  profile = await createProfile(t, { maxDurationSeconds: 3600, defaultDurationSeconds: 1800 });
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['sre'] });
});
afterAll(async () => {
  await t?.close();
});

const valid = () => ({ profile: profile.name, durationSeconds: 1800, justification: JUSTIFICATION });

/** Everything a refused POST /v1/requests could have changed. */
async function counts() {
  return { requests: await countRequests(t), audit: await countAudit(t) };
}

/** Sends a raw body, so odd JSON and content types reach the server untouched. */
function sendRaw(path: string, body: string, contentType = 'application/json') {
  return t.http().post(path).set(auth(alice.key)).set('content-type', contentType).send(body);
}

async function expectRefusedUnchanged(send: () => PromiseLike<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }>, status: number, type: string) {
  const before = await counts();
  const response = await send();
  expectProblem(response, status, type);
  expect(await counts()).toEqual(before);
  return response;
}

describe('POST /v1/requests refuses bad input and changes nothing', () => {
  it('answers 404 for an unknown profile', async () => {
    for (const ref of ['no-such-profile', 'prf_doesnotexist0000000000']) {
      await expectRefusedUnchanged(() => t.http().post('/v1/requests').set(auth(alice.key)).send({ ...valid(), profile: ref }), 404, 'not-found');
    }
  });

  it.each([
    ['a duration under 900 s', { durationSeconds: 899 }, '/body/durationSeconds'],
    ['a duration above the profile maximum', { durationSeconds: 3601 }, '/body/durationSeconds'],
    ['a duration above any maximum', { durationSeconds: 43201 }, '/body/durationSeconds'],
    ['a fractional duration', { durationSeconds: 1800.5 }, '/body/durationSeconds'],
    ['a duration sent as a string', { durationSeconds: '1800' }, '/body/durationSeconds'],
    ['a negative duration', { durationSeconds: -1800 }, '/body/durationSeconds'],
    ['a startsAt that is not ISO-8601', { startsAt: 'next tuesday' }, '/body/startsAt'],
    ['a startsAt without a time', { startsAt: '2031-07-09' }, '/body/startsAt'],
    ['a startsAt as a number', { startsAt: 1_900_000_000 }, '/body/startsAt'],
    ['a missing justification', { justification: undefined }, '/body/justification'],
    ['an empty justification', { justification: '' }, '/body/justification'],
    ['a justification over 4000 characters', { justification: 'x'.repeat(4001) }, '/body/justification'],
    ['a NUL in the justification', { justification: 'hotfix\u0000now' }, '/body/justification'],
    ['a bell in the justification', { justification: 'hotfix\u0007now' }, '/body/justification'],
    ['an escape sequence in the justification', { justification: 'hotfix \u001b[31mred' }, '/body/justification'],
    ['a DEL in the justification', { justification: 'hotfix\u007fnow' }, '/body/justification'],
    ['a newline in the ticket', { ticket: 'INC-42\nINC-43' }, '/body/ticket'],
    ['a tab in the ticket', { ticket: 'INC-42\t' }, '/body/ticket'],
    ['a ticket that is a number', { ticket: 42 }, '/body/ticket'],
    ['an unknown field', { approved: true }, '/body/approved'],
    ['an unknown field that smells of privilege', { requesterId: 'prn_someoneelse' }, '/body/requesterId'],
    ['a missing profile', { profile: undefined }, '/body/profile'],
    ['breakGlass as a string', { breakGlass: 'true' }, '/body/breakGlass'],
    ['a scope with unknown fields', { scope: { actions: ['s3:GetObject'], resources: ['*'], effect: 'Allow' } }, '/body/scope/effect'],
  ])('refuses %s with 400 naming the field', async (_name, change, field) => {
    const body: Record<string, unknown> = { ...valid(), ...change };
    for (const [key, value] of Object.entries(change)) if (value === undefined) delete body[key];
    const response = await expectRefusedUnchanged(() => t.http().post('/v1/requests').set(auth(alice.key)).send(body), 400, 'validation');
    expect(fieldsOf(response.body as { errors?: { field: string }[] })).toContain(field);
    expect(response.body.detail).toContain(field.replace('/body/', ''));
  });

  it('refuses a startsAt in the past with 400 naming startsAt', async () => {
    const past = new Date(t.clock.now().getTime() - 3_600_000).toISOString();
    const response = await expectRefusedUnchanged(
      () => t.http().post('/v1/requests').set(auth(alice.key)).send({ ...valid(), startsAt: past }),
      400,
      'validation',
    );
    expect(fieldsOf(response.body as { errors?: { field: string }[] })).toEqual(['/body/startsAt']);
  });

  it('refuses a startsAt too far ahead with 400 naming startsAt', async () => {
    const far = new Date(t.clock.now().getTime() + 365 * 86_400_000).toISOString();
    const response = await expectRefusedUnchanged(
      () => t.http().post('/v1/requests').set(auth(alice.key)).send({ ...valid(), startsAt: far }),
      400,
      'validation',
    );
    expect(fieldsOf(response.body as { errors?: { field: string }[] })).toEqual(['/body/startsAt']);
  });

  it('refuses a 100 kB justification as too large', async () => {
    const response = await expectRefusedUnchanged(
      () => t.http().post('/v1/requests').set(auth(alice.key)).send({ ...valid(), justification: 'x'.repeat(100 * 1024) }),
      413,
      'payload-too-large',
    );
    expect(response.status).toBeLessThan(500);
  });

  it('refuses malformed JSON, an empty body, a JSON array and a text body', async () => {
    for (const body of ['{"profile": ', '', '[]', 'null']) {
      const response = await expectRefusedUnchanged(() => sendRaw('/v1/requests', body), 400, 'validation');
      expect(fieldsOf(response.body as { errors?: { field: string }[] })[0]).toMatch(/^\/body/);
    }
    await expectRefusedUnchanged(() => sendRaw('/v1/requests', 'profile=x', 'text/plain'), 415, 'unsupported-media-type');
  });

  it('refuses prototype pollution keys', async () => {
    await expectRefusedUnchanged(() => sendRaw('/v1/requests', JSON.stringify(valid()).replace('{', '{"__proto__":{"isAdmin":true},')), 400, 'validation');
  });

  it('refuses a malformed Idempotency-Key', async () => {
    const response = await expectRefusedUnchanged(
      () => t.http().post('/v1/requests').set(auth(alice.key)).set('idempotency-key', 'x'.repeat(300)).send(valid()),
      400,
      'validation',
    );
    expect(fieldsOf(response.body as { errors?: { field: string }[] })[0]).toMatch(/idempotency-key/);
  });

  it('still accepts the valid body (the refusals above were about the input alone)', async () => {
    const before = await counts();
    await t.http().post('/v1/requests').set(auth(alice.key)).send(valid()).expect(201);
    expect(await countRequests(t)).toBe(before.requests + 1);
  });
});

describe('reviews and other commands refuse bad input and change nothing', () => {
  it.each([
    ['an unknown decision', { decision: 'maybe' }, '/body/decision'],
    ['a missing decision', { comment: 'ok' }, '/body/decision'],
    ['an unknown field', { decision: 'approve', weight: 2 }, '/body/weight'],
    ['a control character in the comment', { decision: 'approve', comment: 'ok\u0000' }, '/body/comment'],
    ['a comment over 2000 characters', { decision: 'approve', comment: 'x'.repeat(2001) }, '/body/comment'],
  ])('refuses a review with %s', async (_name, body, field) => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    const before = await counts();
    const response = await t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(bob.key)).send(body);
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toContain(field);
    expect(await counts()).toEqual(before);
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(0);
  });

  it('refuses an id that is not an id', async () => {
    const response = await t.http().post('/v1/requests/not%20an%20id/reviews').set(auth(bob.key)).send({ decision: 'approve' });
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toContain('/params/id');
  });

  it('refuses a revoke without a reason and a cancel with unknown fields', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    const before = await counts();
    const revoke = await t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(alice.key)).send({});
    expectProblem(revoke, 400, 'validation');
    expect(fieldsOf(revoke.body)).toContain('/body/reason');
    const cancel = await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({ now: true });
    expectProblem(cancel, 400, 'validation');
    expect(fieldsOf(cancel.body)).toContain('/body/now');
    expect(await counts()).toEqual(before);
    expect(await statusOf(t, request.id)).toBe('pending');
  });

  it.each([
    ['status=unknown', '/querystring/status'],
    ['limit=0', '/querystring/limit'],
    ['limit=501', '/querystring/limit'],
    ['mine=perhaps', '/querystring/mine'],
    ['owner=me', '/querystring/owner'],
  ])('refuses GET /v1/requests?%s', async (query, field) => {
    const response = await t.http().get(`/v1/requests?${query}`).set(auth(alice.key));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toContain(field);
  });
});
