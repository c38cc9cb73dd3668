// SPEC §3 rules 3 and 9: the profile's conditions are checked when the request is made; a
// refusal names the condition, is audited as request.refused and creates nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import {
  auditByAction,
  auth,
  auditOf,
  countRequests,
  createProfile,
  expectProblem,
  LOOPBACK,
  openRequest,
  postRequest,
  review,
  ROLE_ARN,
  startListeningApp,
  uniqueName,
} from './helpers.js';

let t: TestApp;
/** The same app without BREVET_TRUST_PROXY: X-Forwarded-For must mean nothing to it. */
let direct: TestApp;
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  t = await startListeningApp({ env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience, BREVET_TRUST_PROXY: 'true' } });
  direct = await startListeningApp();
});
afterAll(async () => {
  await t?.close();
  await direct?.close();
  await issuer?.close();
});

let people = 0;
/** A token valid at the app's (injected) clock, for a person nobody has seen yet. */
async function tokenFor(claims: Record<string, unknown>): Promise<string> {
  people += 1;
  const now = Math.floor(t.clock.now().getTime() / 1000);
  return issuer.token({
    sub: `sub-${people}`,
    email: `person-${people}-${Date.now()}@example.com`,
    iat: now,
    nbf: now,
    exp: now + 600,
    ...claims,
  });
}

/**
 * Sends a request that a condition must refuse, and checks the whole refusal: 403
 * condition-failed naming the condition, one request.refused audit event, no request row.
 */
async function expectConditionRefused(
  app: TestApp,
  send: () => PromiseLike<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }>,
  expected: { actorId: string; profileId: string; condition: string; detail: RegExp },
) {
  const requestsBefore = await countRequests(app);
  const refusedBefore = (await auditByAction(app, 'request.refused', expected.actorId)).length;
  const response = await send();
  expectProblem(response, 403, 'condition-failed');
  expect(response.body.condition).toBe(expected.condition);
  expect(response.body.detail).toMatch(expected.detail);

  expect(await countRequests(app)).toBe(requestsBefore);
  const refused = (await auditByAction(app, 'request.refused', expected.actorId)).slice(refusedBefore);
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({
    actorId: expected.actorId,
    profileId: expected.profileId,
    requestId: null,
    details: expect.objectContaining({ reason: 'condition-failed', condition: expected.condition }),
  });
  return refused[0]!;
}

describe('minJustificationLength', () => {
  it('refuses a justification shorter than the minimum, not counting surrounding blanks', async () => {
    const profile = await createProfile(t, { conditions: { minJustificationLength: 20 } });
    const alice = await t.principal({ groups: ['dev'] });
    for (const justification of ['too short', `   ${'x'.repeat(19)}   `]) {
      await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name, justification }), {
        actorId: alice.id,
        profileId: profile.id,
        condition: 'justification',
        detail: /justification.*20/,
      });
    }
    await openRequest(t, alice.key, { profile: profile.name, justification: 'x'.repeat(20) });
  });
});

describe('ticketPattern', () => {
  it('refuses a missing ticket and one that does not match the whole pattern', async () => {
    const profile = await createProfile(t, { conditions: { ticketPattern: 'INC-\\d+' } });
    const alice = await t.principal({ groups: ['dev'] });
    for (const ticket of [undefined, null, 'JIRA-12', 'INC-42x', 'xINC-42', 'INC-']) {
      await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name, ...(ticket === undefined ? {} : { ticket }) }), {
        actorId: alice.id,
        profileId: profile.id,
        condition: 'ticket',
        detail: /ticket.*INC-\\d\+/,
      });
    }
    const created = await openRequest(t, alice.key, { profile: profile.name, ticket: 'INC-42' });
    expect(created).toMatchObject({ status: 'pending' });
  });
});

describe('requireMfa', () => {
  it('is never satisfied by an API key', async () => {
    const profile = await createProfile(t, { conditions: { requireMfa: true } });
    const alice = await t.principal({ groups: ['dev'] });
    await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name }), {
      actorId: alice.id,
      profileId: profile.id,
      condition: 'mfa',
      detail: /MFA/,
    });
  });

  it('is refused to a token without mfa in amr, and satisfied by one with it', async () => {
    const profile = await createProfile(t, { conditions: { requireMfa: true } });
    const claims = { sub: `mfa-person-${Date.now()}`, email: `mfa-${Date.now()}@example.com`, groups: ['dev'] };
    const withoutMfa = await tokenFor({ ...claims, amr: ['pwd'] });
    const me = await t.http().get('/v1/me').set({ authorization: `Bearer ${withoutMfa}` }).expect(200);
    await expectConditionRefused(t, () => postRequest(t, withoutMfa, { profile: profile.name }), {
      actorId: me.body.id,
      profileId: profile.id,
      condition: 'mfa',
      detail: /MFA/,
    });

    const withMfa = await tokenFor({ ...claims, amr: ['pwd', 'mfa'] });
    const created = await openRequest(t, withMfa, { profile: profile.name });
    expect(created).toMatchObject({ status: 'pending', requesterId: me.body.id });
  });
});

describe('requireApproverMfa', () => {
  it('counts an approval only from a token with mfa', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], requireApproverMfa: true } });
    const alice = await t.principal({ groups: ['dev'] });
    const bobKey = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name });

    const byKey = await review(t, bobKey.key, request.id, 'approve');
    expectProblem(byKey, 403, 'condition-failed');
    expect(byKey.body.condition).toBe('approver-mfa');
    const byPassword = await review(t, await tokenFor({ groups: ['sre'], amr: ['pwd'] }), request.id, 'approve');
    expectProblem(byPassword, 403, 'condition-failed');
    expect((await auditOf(t, request.id)).filter((e) => e.action === 'review.refused')).toHaveLength(2);

    const approved = await review(t, await tokenFor({ groups: ['sre'], amr: ['pwd', 'mfa'] }), request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });
});

describe('sourceCidrs', () => {
  it('honours X-Forwarded-For when the proxy is trusted', async () => {
    const profile = await createProfile(t, { conditions: { sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'] } });
    const alice = await t.principal({ groups: ['dev'] });

    for (const source of ['192.0.2.7', '2001:db9::1']) {
      await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name }).set('x-forwarded-for', source), {
        actorId: alice.id,
        profileId: profile.id,
        condition: 'source-ip',
        detail: new RegExp(source.replace(/\./g, '\\.')),
      });
    }
    // No header: the loopback peer itself is the source, and it is not allowed either.
    const refused = await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name }), {
      actorId: alice.id,
      profileId: profile.id,
      condition: 'source-ip',
      detail: /source address/,
    });
    expect(LOOPBACK).toContain(refused.sourceIp);

    for (const source of ['10.1.2.3', '2001:db8::1']) {
      const created = await postRequest(t, alice.key, { profile: profile.name }).set('x-forwarded-for', source).expect(201);
      const [event] = await auditOf(t, created.body.id);
      expect(event).toMatchObject({ action: 'request.created', sourceIp: source });
    }
  });

  it('ignores X-Forwarded-For without trust proxy', async () => {
    const profile = await createProfile(direct, { conditions: { sourceCidrs: ['10.0.0.0/8'] } });
    const alice = await direct.principal({ groups: ['dev'] });
    const refused = await expectConditionRefused(
      direct,
      () => postRequest(direct, alice.key, { profile: profile.name }).set('x-forwarded-for', '10.1.2.3'),
      { actorId: alice.id, profileId: profile.id, condition: 'source-ip', detail: /127\.0\.0\.1/ },
    );
    expect(LOOPBACK).toContain(refused.sourceIp);

    const loopbackOnly = await createProfile(direct, { conditions: { sourceCidrs: ['127.0.0.0/8'] } });
    const created = await postRequest(direct, alice.key, { profile: loopbackOnly.name }).set('x-forwarded-for', '192.0.2.7').expect(201);
    const [event] = await auditOf(direct, created.body.id);
    expect(LOOPBACK).toContain(event!.sourceIp);
  });
});

describe('timeWindows', () => {
  const sunday = new Date('2031-07-06T12:00:00Z');
  const wednesday = new Date('2031-07-09T12:00:00Z');
  const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'];

  it('refuses outside the windows and accepts inside them, read in the window time zone', async () => {
    const saved = t.clock.now();
    try {
      const profile = await createProfile(t, { conditions: { timeWindows: [{ days: weekdays, start: '09:00', end: '17:00', timeZone: 'UTC' }] } });
      const alice = await t.principal({ groups: ['dev'] });
      const refuse = (at: Date) => {
        t.clock.set(at);
        return expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name }), {
          actorId: alice.id,
          profileId: profile.id,
          condition: 'time-window',
          detail: /time window/,
        });
      };

      await refuse(sunday);
      await refuse(new Date('2031-07-09T17:00:00Z'));
      await refuse(new Date('2031-07-09T08:59:00Z'));
      t.clock.set(wednesday);
      await openRequest(t, alice.key, { profile: profile.name });

      // 07:30 UTC on a July Wednesday is 09:30 in Paris: inside a Paris 09:00-17:00 window.
      const paris = await createProfile(t, { conditions: { timeWindows: [{ days: weekdays, start: '09:00', end: '17:00', timeZone: 'Europe/Paris' }] } });
      t.clock.set(new Date('2031-07-09T07:30:00Z'));
      await openRequest(t, alice.key, { profile: paris.name });
      t.clock.set(new Date('2031-07-09T15:30:00Z'));
      await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: paris.name }), {
        actorId: alice.id,
        profileId: paris.id,
        condition: 'time-window',
        detail: /time window/,
      });
    } finally {
      t.clock.set(saved);
    }
  });

  it('takes days in any case and as full names, stored as mon … sun; refuses what is no day', async () => {
    const saved = t.clock.now();
    try {
      const window = { start: '09:00', end: '17:00', timeZone: 'UTC' };
      const profile = await createProfile(t, { conditions: { timeWindows: [{ ...window, days: ['Mon', 'TUESDAY', 'wednesday', 'wed'] }] } });
      expect((profile['conditions'] as { timeWindows: { days: string[] }[] }).timeWindows[0]!.days).toEqual(['mon', 'tue', 'wed']);
      const alice = await t.principal({ groups: ['dev'] });
      t.clock.set(wednesday);
      await openRequest(t, alice.key, { profile: profile.name });
      for (const day of ['Funday', 'mo', 'monday ', '1']) {
        const body = { name: uniqueName(), roleArn: ROLE_ARN, requesters: { groups: ['dev'] }, conditions: { timeWindows: [{ ...window, days: [day] }] } };
        const response = await t.http().post('/v1/profiles').set(auth(t.adminKey)).send(body);
        expectProblem(response, 400, 'validation');
        expect(JSON.stringify(response.body)).toContain('/body/conditions/timeWindows/0/days/0');
      }
    } finally {
      t.clock.set(saved);
    }
  });

  it('handles a window that runs past midnight', async () => {
    const saved = t.clock.now();
    try {
      const profile = await createProfile(t, { conditions: { timeWindows: [{ days: ['sat'], start: '22:00', end: '02:00', timeZone: 'UTC' }] } });
      const alice = await t.principal({ groups: ['dev'] });
      t.clock.set(new Date('2031-07-06T01:00:00Z')); // Sunday 01:00: still Saturday night's window.
      await openRequest(t, alice.key, { profile: profile.name });
      t.clock.set(new Date('2031-07-06T03:00:00Z'));
      await expectConditionRefused(t, () => postRequest(t, alice.key, { profile: profile.name }), {
        actorId: alice.id,
        profileId: profile.id,
        condition: 'time-window',
        detail: /time window/,
      });
    } finally {
      t.clock.set(saved);
    }
  });
});
