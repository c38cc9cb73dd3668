// Issue 10 item 12: POST /v1/requests/{id}/console has a body schema. No body at all and `{}`
// are accepted; unknown fields are refused with 400 naming them, before anything is issued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createProfile, expectProblem, issuancesOf, openRequest, startHarness, type Harness } from './helpers.js';

let h: Harness;
let requester: { id: string; key: string };
let requestId: string;

beforeAll(async () => {
  h = await startHarness();
  const profile = await createProfile(h.t);
  requester = await h.t.principal({ groups: ['dev'] });
  requestId = (await openRequest(h.t, requester.key, profile.name)).id;
});
afterAll(async () => {
  await h?.close();
});

const consoleCall = () => h.t.http().post(`/v1/requests/${requestId}/console`).set(auth(requester.key));

describe('POST /v1/requests/{id}/console', () => {
  it.each([
    ['an unknown field', { destination: 'https://evil.example.com' }, '/body/destination'],
    ['a field that smells of privilege', { durationSeconds: 43200 }, '/body/durationSeconds'],
  ])('refuses %s with 400 and issues nothing', async (_what, body, field) => {
    const before = (await issuancesOf(h.t, requestId)).length;
    const response = await consoleCall().send(body);
    expectProblem(response, 400, 'validation');
    expect((response.body.errors as { field: string }[]).map((e) => e.field)).toEqual([field]);
    expect(await issuancesOf(h.t, requestId)).toHaveLength(before);
  });

  it.each([['[]'], ['"x"'], ['null']])('refuses the body %s', async (raw) => {
    expectProblem(await consoleCall().set('content-type', 'application/json').send(raw), 400, 'validation');
  });

  it('accepts no body at all, an empty object, and an empty body sent as application/json', async () => {
    expect((await consoleCall()).status).toBe(200);
    expect((await consoleCall().send({})).status).toBe(200);
    expect((await consoleCall().set('content-type', 'application/json')).status).toBe(200);
  });
});

describe('POST /v1/requests/{id}/credentials and /cancel without a body', () => {
  it('take an empty body sent as application/json (as many clients send every POST) as no body', async () => {
    const credentials = await h.t.http().post(`/v1/requests/${requestId}/credentials`).set(auth(requester.key)).set('content-type', 'application/json');
    expect(credentials.status, JSON.stringify(credentials.body)).toBe(200);
    expect(credentials.body).toHaveProperty('accessKeyId');

    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const pending = await openRequest(h.t, requester.key, profile.name);
    const cancelled = await h.t.http().post(`/v1/requests/${pending.id}/cancel`).set(auth(requester.key));
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const again = await openRequest(h.t, requester.key, profile.name);
    const cancelledJson = await h.t.http().post(`/v1/requests/${again.id}/cancel`).set(auth(requester.key)).set('content-type', 'application/json');
    expect(cancelledJson.body.status).toBe('cancelled');
  });
});
