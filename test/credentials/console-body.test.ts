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

  it('accepts no body at all, and an empty object', async () => {
    expect((await consoleCall()).status).toBe(200);
    expect((await consoleCall().send({})).status).toBe(200);
  });
});
