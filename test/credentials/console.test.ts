// SPEC §4.3: the console sign-in URL. The console session outlives the credentials it is made
// from, so getSigninToken's SessionDuration bounds it to the window; credentials whose exchange
// failed were handed to no one and are recorded as a failed issuance, never as issued.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, auth, createProfile, expectProblem, issuancesOf, openRequest, startHarness, type Harness } from './helpers.js';

async function activeRequest(h: Harness, durationSeconds = 1800) {
  const profile = await createProfile(h.t);
  const requester = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds });
  return { requester, request };
}

const signIn = (h: Harness, key: string, requestId: string) => h.t.http().post(`/v1/requests/${requestId}/console`).set(auth(key)).send();

describe('console sign-in with IAM user credentials', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('returns a federation login URL whose SigninToken came from exchanging the session credentials', async () => {
    const { requester, request } = await activeRequest(h);
    const response = await signIn(h, requester.key, request.id);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');

    const issued = h.aws.issued.at(-1)!;
    expect(h.federation.sessions.at(-1)).toEqual({ sessionId: issued.accessKeyId, sessionKey: issued.secretAccessKey, sessionToken: issued.sessionToken });

    const url = new URL(response.body.url);
    expect(`${url.origin}${url.pathname}`).toBe(h.federation.url);
    expect(url.searchParams.get('Action')).toBe('login');
    expect(url.searchParams.get('SigninToken')).toBe(h.federation.tokens.at(-1));
    expect(url.searchParams.get('Destination')).toMatch(/^https:\/\/console\.aws\.amazon\.com\//);
    expect(url.searchParams.get('Issuer')).toBeTruthy();
    // The URL carries the sign-in token only, never the credentials themselves.
    expect(response.body.url).not.toContain(issued.secretAccessKey);
    expect(response.body.url).not.toContain(encodeURIComponent(issued.sessionToken));
    expect(new Date(response.body.expiration).getTime()).toBeLessThanOrEqual(new Date(request.endsAt!).getTime());

    expect(h.aws.assumeRoleCalls.at(-1)!.roleSessionName).toBe(`brevet-${request.id}`);
    const [event] = await auditOf(h.t, request.id, 'credentials.issued');
    expect(event!.details).toMatchObject({ kind: 'console', accessKeyId: issued.accessKeyId });
  });

  it('bounds the console session to the time left in the window (SessionDuration)', async () => {
    const { requester, request } = await activeRequest(h, 1800);
    h.t.clock.set(new Date(new Date(request.endsAt!).getTime() - 1_234_500));
    expect((await signIn(h, requester.key, request.id)).status).toBe(200);
    expect(h.federation.sessionDurations.at(-1)).toBe(1234);
  });

  it('asks for a 900 s console session at the start of a 900 s window', async () => {
    const { requester, request } = await activeRequest(h, 900);
    h.t.clock.set(new Date(request.startsAt!));
    expect((await signIn(h, requester.key, request.id)).status).toBe(200);
    expect(h.federation.sessionDurations.at(-1)).toBe(900);
  });

  it('a failed exchange: 502 naming BREVET_FEDERATION_URL, the issuance failed (not issued), no secret anywhere', async () => {
    const { requester, request } = await activeRequest(h);
    h.federation.failNext(500);
    const response = await signIn(h, requester.key, request.id);
    expectProblem(response, 502, 'upstream-sts');
    expect(response.body.detail).toContain('BREVET_FEDERATION_URL');
    const issued = h.aws.issued.at(-1)!;
    expect(response.text).not.toContain(issued.secretAccessKey);
    expect(response.text).not.toContain(issued.sessionToken);

    const rows = await issuancesOf(h.t, request.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'console', status: 'failed', accessKeyId: issued.accessKeyId });
    expect(rows[0]!.error).toMatch(/^console sign-in: .*500/);
    expect(await auditOf(h.t, request.id, 'credentials.issued')).toEqual([]);
    const [failed] = await auditOf(h.t, request.id, 'credentials.failed');
    expect(failed!.details).toMatchObject({ kind: 'console', accessKeyId: issued.accessKeyId, handedOut: false });
    expect(JSON.stringify(failed!.details)).not.toContain(issued.secretAccessKey);

    // The next attempt works and is recorded as issued.
    expect((await signIn(h, requester.key, request.id)).status).toBe(200);
    expect((await issuancesOf(h.t, request.id)).map((row) => row.status).sort()).toEqual(['failed', 'issued']);
  });
});

describe('console sign-in when Brevet runs on role credentials (BREVET_ROLE_CHAINING=true)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { BREVET_ROLE_CHAINING: 'true' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('sends no SessionDuration, which AWS refuses for sessions chained from a role; the console then lasts as long as the credentials', async () => {
    const profile = await createProfile(h.t, { maxDurationSeconds: 3600, defaultDurationSeconds: 1800 });
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds: 1800 });
    const response = await signIn(h, requester.key, request.id);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(h.federation.sessionDurations.at(-1)).toBeUndefined();
    expect(h.aws.issued.at(-1)!.expiration.getTime()).toBeLessThanOrEqual(new Date(request.endsAt!).getTime());
  });
});
