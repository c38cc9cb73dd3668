// SPEC §3 rule 4 as a client sees it, on the real clock: a 900 s request asked for credentials
// right after it became active gets them (STS's 900 s floor already outlasts the window by the
// time the call is made), and they are dead at `endsAt` — cut off by the session policy.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createProfile, issue, openRequest, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ realClock: true });
});
afterAll(async () => {
  await h?.close();
});

it('a 900 s request yields credentials at once, expiring at endsAt and denied by AWS from then on', async () => {
  const profile = await createProfile(h.t, { maxDurationSeconds: 3600, defaultDurationSeconds: 900 });
  const requester = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds: 900 });
  expect(request.status).toBe('active');
  const endsAt = new Date(request.endsAt!).getTime();
  expect(endsAt - new Date(request.startsAt!).getTime()).toBe(900_000);

  const response = await issue(h.t, requester.key, request.id, 'credential_process');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(new Date(response.body.Expiration).getTime()).toBeLessThanOrEqual(endsAt);
  const call = h.aws.assumeRoleCalls.at(-1)!;
  expect(call.durationSeconds).toBe(900);
  expect(JSON.parse(call.policy!).Statement).toContainEqual({
    Sid: 'BrevetWindowEnd',
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': new Date(endsAt).toISOString() } },
  });
});
