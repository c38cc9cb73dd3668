// SPEC §3 rule 3: the profile's conditions are checked again at every issuance, so a condition
// that held when the request was made but no longer holds blocks the credentials.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import { TestClock } from '../support/clock.js';
import { auditOf, auth, createProfile, expectProblem, issuancesOf, issue, openRequest, startHarness, type Harness } from './helpers.js';

// Monday 7 January 2030, 10:00 UTC (11:00 in Paris).
const MONDAY_10_UTC = new Date('2030-01-07T10:00:00.000Z');

describe('behind a trusted proxy', () => {
  let h: Harness;
  let oidc: OidcIssuer;
  beforeAll(async () => {
    oidc = await startOidcIssuer();
    h = await startHarness({
      clock: new TestClock(MONDAY_10_UTC),
      env: { BREVET_TRUST_PROXY: 'true', OIDC_ISSUER: oidc.issuer, OIDC_AUDIENCE: oidc.audience },
    });
  });
  afterAll(async () => {
    await h?.close();
    await oidc?.close();
  });

  it('source address: refused from outside sourceCidrs (403 condition-failed source-ip, audited), issued from inside', async () => {
    const profile = await createProfile(h.t, { conditions: { sourceCidrs: ['10.0.0.0/8'] } });
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name, {}, { 'x-forwarded-for': '10.1.2.3' });
    const before = h.aws.assumeRoleCalls.length;

    const outside = await issue(h.t, requester.key, request.id, 'json', { 'x-forwarded-for': '192.0.2.7' });
    expectProblem(outside, 403, 'condition-failed');
    expect(outside.body.condition).toBe('source-ip');
    expect(outside.body.detail).toContain('192.0.2.7');
    const console = await h.t.http().post(`/v1/requests/${request.id}/console`).set({ ...auth(requester.key), 'x-forwarded-for': '192.0.2.7' }).send();
    expectProblem(console, 403, 'condition-failed');
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
    const refused = await auditOf(h.t, request.id, 'credentials.refused');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ actorId: requester.id, sourceIp: '192.0.2.7' });
    expect(refused[0]!.details).toMatchObject({ reason: 'condition-failed', condition: 'source-ip' });

    const inside = await issue(h.t, requester.key, request.id, 'json', { 'x-forwarded-for': '10.9.9.9' });
    expect(inside.status, JSON.stringify(inside.body)).toBe(200);
    expect(h.aws.assumeRoleCalls).toHaveLength(before + 1);
    const [row] = await issuancesOf(h.t, request.id);
    expect(row).toMatchObject({ status: 'issued', sourceIp: '10.9.9.9' });
    const [issued] = await auditOf(h.t, request.id, 'credentials.issued');
    expect(issued).toMatchObject({ sourceIp: '10.9.9.9' });
  });

  it('time window: issued inside it, refused (403 condition-failed time-window) once it has closed', async () => {
    h.t.clock.set(MONDAY_10_UTC);
    // 10:00–11:30 in Paris is 09:00–10:30 UTC in January.
    const profile = await createProfile(h.t, {
      conditions: { timeWindows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '10:00', end: '11:30', timeZone: 'Europe/Paris' }] },
    });
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds: 3600 });
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);

    h.t.clock.set(new Date('2030-01-07T10:31:00.000Z'));
    const before = h.aws.assumeRoleCalls.length;
    const late = await issue(h.t, requester.key, request.id, 'credential_process');
    expectProblem(late, 403, 'condition-failed');
    expect(late.body.condition).toBe('time-window');
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
    const [refused] = await auditOf(h.t, request.id, 'credentials.refused');
    expect(refused!.details).toMatchObject({ reason: 'condition-failed', condition: 'time-window' });
  });

  it('MFA: a request made with an MFA sign-in gets no credentials through a sign-in without MFA, nor an API key', async () => {
    h.t.clock.set(MONDAY_10_UTC);
    const profile = await createProfile(h.t, { conditions: { requireMfa: true } });
    const seconds = Math.floor(h.t.clock.now().getTime() / 1000);
    const person = { sub: `mfa-${Date.now()}`, email: `mfa-${Date.now()}@example.com`, groups: ['dev'], iat: seconds, nbf: seconds, exp: seconds + 3600 };
    const withMfa = await oidc.token({ ...person, amr: ['pwd', 'mfa'] });
    const withoutMfa = await oidc.token({ ...person, amr: ['pwd'] });
    const request = await openRequest(h.t, withMfa, profile.name);
    const before = h.aws.assumeRoleCalls.length;

    const refused = await issue(h.t, withoutMfa, request.id);
    expectProblem(refused, 403, 'condition-failed');
    expect(refused.body.condition).toBe('mfa');
    const key = await h.t.http().post(`/v1/principals/${request.requesterId as string}/api-keys`).set(auth(h.t.adminKey)).send({ name: 'cli' }).expect(201);
    const byKey = await issue(h.t, key.body.key as string, request.id);
    expectProblem(byKey, 403, 'condition-failed');
    expect(h.aws.assumeRoleCalls).toHaveLength(before);

    expect((await issue(h.t, withMfa, request.id)).status).toBe(200);
  });
});

describe('without a trusted proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('ignores X-Forwarded-For: the peer address is what the source condition sees', async () => {
    const profile = await createProfile(h.t, { conditions: { sourceCidrs: ['127.0.0.0/8', '::1/128'] } });
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name);
    const response = await issue(h.t, requester.key, request.id, 'json', { 'x-forwarded-for': '192.0.2.7' });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const [row] = await issuancesOf(h.t, request.id);
    expect(row!.sourceIp).not.toBe('192.0.2.7');
  });
});
