// SPEC §4.1: what Brevet asks of STS for one issuance, read back from the STS stand-in as the
// real SDK serialised it, and the window arithmetic of rule 4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STS_CALL_ALLOWANCE_SECONDS as ALLOWANCE, WINDOW_START_GRACE_SECONDS as GRACE } from '../../src/domain/session-duration.js';
import {
  auditOf,
  createProfile,
  expectProblem,
  issuancesOf,
  issue,
  openRequest,
  roleArn,
  startHarness,
  uniqueName,
  type Harness,
} from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const tagsOf = (call: { tags: { key: string; value: string }[] }) => Object.fromEntries(call.tags.map((tag) => [tag.key, tag.value]));

const PROFILE_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Reports', Effect: 'Allow', Action: ['s3:Get*', 's3:List*'], Resource: ['arn:aws:s3:::reports', 'arn:aws:s3:::reports/*'] },
    { Sid: 'NoSecrets', Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::reports/secret/*' },
  ],
};

describe('the AssumeRole call', () => {
  it('carries the session name, SourceIdentity, tags, session policy and ExternalId of the profile', async () => {
    const profile = await createProfile(h.t, {
      roleArn: roleArn('PaymentsAdmin'),
      externalId: 'brevet-ext-4242',
      sessionPolicy: PROFILE_POLICY,
      sessionTags: { team: 'payments', env: 'prod' },
    });
    // Canonicalised to lower case; `+` is kept, `'`, `/` and `#` are not in STS's alphabet.
    const requester = await h.t.principal({ email: `Dana.O'Brien+ops/#1-${Date.now()}@Example.com`, groups: ['dev'] });
    const expectedIdentity = requester.email!.replace(/'/g, '-').replace('/#', '--');
    expect(expectedIdentity).toMatch(/^dana\.o-brien\+ops--1-\d+@example\.com$/);

    const request = await openRequest(h.t, requester.key, profile.name);
    const before = h.aws.assumeRoleCalls.length;
    const response = await issue(h.t, requester.key, request.id);
    expect(response.status, JSON.stringify(response.body)).toBe(200);

    expect(h.aws.assumeRoleCalls).toHaveLength(before + 1);
    const call = h.aws.assumeRoleCalls.at(-1)!;
    expect(call.authorization, 'signed with SigV4 by the real SDK').toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDBREVETTEST\//);
    expect(call.roleArn).toBe(roleArn('PaymentsAdmin'));
    expect(call.roleSessionName).toBe(`brevet-${request.id}`);
    expect(call.sourceIdentity).toBe(expectedIdentity);
    expect(call.externalId).toBe('brevet-ext-4242');
    expect(call.durationSeconds).toBe(1800 - ALLOWANCE);
    expect(JSON.parse(call.policy!)).toEqual(PROFILE_POLICY);
    expect(call.tags).toHaveLength(4);
    expect(tagsOf(call)).toEqual({ team: 'payments', env: 'prod', 'brevet:request-id': request.id, 'brevet:requester': expectedIdentity });
    expect(call.transitiveTagKeys).toEqual([]);

    // The auditor's pivot to CloudTrail: access key id, session name and SourceIdentity.
    const [event] = await auditOf(h.t, request.id, 'credentials.issued');
    expect(event!.details).toMatchObject({
      accessKeyId: response.body.accessKeyId,
      sessionName: `brevet-${request.id}`,
      sourceIdentity: expectedIdentity,
      roleArn: roleArn('PaymentsAdmin'),
      durationSeconds: 1800 - ALLOWANCE,
      format: 'json',
    });
    const [row] = await issuancesOf(h.t, request.id);
    expect(row).toMatchObject({ status: 'issued', sessionName: `brevet-${request.id}`, sourceIdentity: expectedIdentity, accessKeyId: response.body.accessKeyId });
  });

  it('sends no Policy and no ExternalId when the profile has neither, and only the two Brevet tags', async () => {
    const profile = await createProfile(h.t);
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name);
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    const call = h.aws.assumeRoleCalls.at(-1)!;
    expect(call.policy).toBeUndefined();
    expect(call.externalId).toBeUndefined();
    expect(tagsOf(call)).toEqual({ 'brevet:request-id': request.id, 'brevet:requester': requester.email });
  });

  it('sends the scope-narrowed policy, keeping the profile Deny statements, when the request has a scope', async () => {
    const profile = await createProfile(h.t, { sessionPolicy: PROFILE_POLICY });
    const requester = await h.t.principal({ groups: ['dev'] });
    const scope = { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::reports/2024/*'] };
    const request = await openRequest(h.t, requester.key, profile.name, { scope });
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(JSON.parse(h.aws.assumeRoleCalls.at(-1)!.policy!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'BrevetRequestScope', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::reports/2024/*'] },
        PROFILE_POLICY.Statement[1],
      ],
    });
  });

  it('sends the profile policy with every other action denied when the scope names actions only', async () => {
    const profile = await createProfile(h.t, { sessionPolicy: PROFILE_POLICY });
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name, { scope: { actions: ['s3:GetObject'] } });
    expect(request.scope).toEqual({ actions: ['s3:GetObject'] });
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(JSON.parse(h.aws.assumeRoleCalls.at(-1)!.policy!)).toEqual({
      ...PROFILE_POLICY,
      Statement: [...PROFILE_POLICY.Statement, { Sid: 'BrevetRequestScope', Effect: 'Deny', NotAction: ['s3:GetObject'], Resource: '*' }],
    });
    const refused = await h.t
      .http()
      .post('/v1/requests')
      .set({ authorization: `Bearer ${requester.key}` })
      .send({ profile: profile.name, durationSeconds: 1800, justification: 'x', scope: { actions: ['s3:GetObject', 'iam:PassRole'] } });
    expectProblem(refused, 400, 'validation');
    expect(JSON.stringify(refused.body)).toContain('iam:PassRole is not allowed by the profile session policy');
  });

  it('refuses a scope that would widen the profile policy when the request is made', async () => {
    const profile = await createProfile(h.t, { sessionPolicy: PROFILE_POLICY });
    const requester = await h.t.principal({ groups: ['dev'] });
    const response = await h.t
      .http()
      .post('/v1/requests')
      .set({ authorization: `Bearer ${requester.key}` })
      .send({ profile: profile.name, durationSeconds: 1800, justification: 'x', scope: { actions: ['s3:*'], resources: ['arn:aws:s3:::reports/*'] } });
    expectProblem(response, 400, 'validation');
    expect(JSON.stringify(response.body)).toContain('/body/scope');
  });

  it('names the session after the request even for a service account, whose id is its SourceIdentity', async () => {
    const profile = await createProfile(h.t);
    const service = await h.t.principal({ kind: 'service', groups: ['dev'] });
    const request = await openRequest(h.t, service.key, profile.name);
    expect((await issue(h.t, service.key, request.id)).status).toBe(200);
    const call = h.aws.assumeRoleCalls.at(-1)!;
    expect(call.sourceIdentity).toBe(service.id.replace(/[^\w+=,.@-]/g, '-'));
    expect(call.sourceIdentity).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  it('cuts a SourceIdentity longer than STS allows to 64 characters, and STS accepts it', async () => {
    const profile = await createProfile(h.t);
    const requester = await h.t.principal({ email: `${'a'.repeat(70)}.${uniqueName('x')}@example.com`, groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name);
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(h.aws.assumeRoleCalls.at(-1)!.sourceIdentity).toBe(requester.email!.slice(0, 64));
  });
});

describe('DurationSeconds (SPEC §3 rule 4: one rule, domain/session-duration.ts)', () => {
  /** A request whose window starts on a whole second, so that what STS prints (whole seconds) is exact. */
  async function requestOf(durationSeconds: number, profileOverrides: Record<string, unknown> = {}) {
    h.t.clock.set(new Date(Math.ceil(h.t.clock.now().getTime() / 1000) * 1000 + 1000));
    const profile = await createProfile(h.t, profileOverrides);
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds });
    return { requester, request, endsAt: new Date(request.endsAt!).getTime() };
  }

  /** The statement windowCutOffPolicy adds, as STS received it. */
  const cutOffStatement = (endsAt: number) => ({
    Sid: 'BrevetWindowEnd',
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: { DateGreaterThanEquals: { 'aws:CurrentTime': new Date(endsAt).toISOString() } },
  });

  it('a 900 s request yields credentials at the start of its window: 900 s asked, Expiration exactly endsAt', async () => {
    const { requester, request, endsAt } = await requestOf(900);
    expect(endsAt - new Date(request.startsAt!).getTime()).toBe(900_000);
    const response = await issue(h.t, requester.key, request.id);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(h.aws.assumeRoleCalls.at(-1)!.durationSeconds).toBe(900);
    expect(new Date(response.body.expiration).getTime()).toBe(endsAt);
  });

  it('a 900 s request asked just after its window opened still yields credentials, cut off by AWS at endsAt', async () => {
    const { requester, request, endsAt } = await requestOf(900);
    h.t.clock.advance(1_250);
    const response = await issue(h.t, requester.key, request.id, 'credential_process');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const call = h.aws.assumeRoleCalls.at(-1)!;
    expect(call.durationSeconds).toBe(900);
    // STS's session lasts 1.25 s past the window; its policy denies everything from endsAt on.
    expect(JSON.parse(call.policy!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }, cutOffStatement(endsAt)],
    });
    expect(h.aws.issued.at(-1)!.expiration.getTime()).toBeGreaterThan(endsAt);
    expect(new Date(response.body.Expiration).getTime()).toBe(endsAt);
    const [issued] = await auditOf(h.t, request.id, 'credentials.issued');
    expect(issued!.details).toMatchObject({ durationSeconds: 900, cutOffAt: new Date(endsAt).toISOString() });
    expect(issued!.details).not.toHaveProperty('withheld');
  });

  it('keeps the profile policy and the scope when it cuts a session off at the window end', async () => {
    const { requester, request, endsAt } = await requestOf(900, { sessionPolicy: PROFILE_POLICY });
    h.t.clock.advance(1_000);
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(JSON.parse(h.aws.assumeRoleCalls.at(-1)!.policy!)).toEqual({ ...PROFILE_POLICY, Statement: [...PROFILE_POLICY.Statement, cutOffStatement(endsAt)] });
  });

  it('sends the profile policy unchanged where the session fits the window', async () => {
    const { requester, request } = await requestOf(1800, { sessionPolicy: PROFILE_POLICY });
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(JSON.parse(h.aws.assumeRoleCalls.at(-1)!.policy!)).toEqual(PROFILE_POLICY);
  });

  it('is the time left less the call allowance where there is room: 1800 s window, 600 s later → 1180', async () => {
    const { requester, request, endsAt } = await requestOf(1800);
    h.t.clock.advance(600_000);
    const response = await issue(h.t, requester.key, request.id);
    expect(response.status).toBe(200);
    expect(h.aws.assumeRoleCalls.at(-1)!.durationSeconds).toBe(1200 - ALLOWANCE);
    expect(new Date(response.body.expiration).getTime()).toBeLessThanOrEqual(endsAt);
  });

  it('never takes the allowance below 900: with 901 s left STS is asked for 900, cut off at endsAt', async () => {
    const { requester, request, endsAt } = await requestOf(1800);
    h.t.clock.set(new Date(endsAt - 901_000));
    const response = await issue(h.t, requester.key, request.id);
    expect(response.status).toBe(200);
    expect(h.aws.assumeRoleCalls.at(-1)!.durationSeconds).toBe(900);
    expect(JSON.parse(h.aws.assumeRoleCalls.at(-1)!.policy!).Statement).toContainEqual(cutOffStatement(endsAt));
    expect(endsAt - new Date(response.body.expiration).getTime()).toBe(1_000);
  });

  it('stays within the profile maximum for a request of the maximum length', async () => {
    const { requester, request } = await requestOf(1200, { maxDurationSeconds: 1200, defaultDurationSeconds: 900 });
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(h.aws.assumeRoleCalls.at(-1)!.durationSeconds).toBe(1200 - ALLOWANCE);
  });

  it('refuses with 409 window-too-short, audited and without calling STS, once the start of a 900 s window is past', async () => {
    const { requester, request, endsAt } = await requestOf(1800);
    h.t.clock.set(new Date(endsAt - (900 - GRACE) * 1000 + 500));
    const before = h.aws.assumeRoleCalls.length;

    const response = await issue(h.t, requester.key, request.id, 'credential_process');
    expectProblem(response, 409, 'window-too-short');
    expect(response.body.detail).toMatch(new RegExp(`${900 - GRACE - 1} s remain`));
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
    const [refused] = await auditOf(h.t, request.id, 'credentials.refused');
    expect(refused).toMatchObject({ actorId: requester.id });
    expect(refused!.details).toMatchObject({ reason: 'window-too-short', secondsLeft: 900 - GRACE - 1 });
  });

  it('hands out the credentials of a slow call (an attempt timed out and retried) with most of the window left', async () => {
    const { requester, request, endsAt } = await requestOf(1800);
    const brevetNow = h.aws.now;
    // STS handles the call 5 s after Brevet planned it (the SDK's per-attempt timeout, then a retry).
    h.aws.now = () => {
      h.t.clock.advance(5_000);
      return h.t.clock.now();
    };
    try {
      const response = await issue(h.t, requester.key, request.id);
      expect(response.status).toBe(200);
      expect(new Date(response.body.expiration as string).getTime()).toBeLessThanOrEqual(endsAt);
    } finally {
      h.aws.now = brevetNow;
    }
    expect(h.aws.issued.at(-1)!.expiration.getTime()).toBeLessThanOrEqual(endsAt);
  });

  it('withholds a session that AWS started too late to end by endsAt: 409 window-too-short, recorded', async () => {
    const { requester, request, endsAt } = await requestOf(1800);
    const brevetNow = h.aws.now;
    // The call takes 1.5 s more than the allowance (its deadline): STS handles it then, and Brevet's clock moves on with it.
    h.aws.now = () => {
      h.t.clock.advance(ALLOWANCE * 1000 + 1_500);
      return h.t.clock.now();
    };
    try {
      const response = await issue(h.t, requester.key, request.id);
      expectProblem(response, 409, 'window-too-short');
      expect(JSON.stringify(response.body)).not.toContain(h.aws.issued.at(-1)!.secretAccessKey);
    } finally {
      h.aws.now = brevetNow;
    }
    expect(h.aws.issued.at(-1)!.expiration.getTime()).toBeGreaterThan(endsAt);
    const [issued] = await auditOf(h.t, request.id, 'credentials.issued');
    expect(issued!.details).toMatchObject({ withheld: true, reason: 'window-ran-out', accessKeyId: h.aws.issued.at(-1)!.accessKeyId });
  });
});

describe('an AWS clock ahead of Brevet', () => {
  it('withholds credentials whose Expiration would pass the window end, and records them', async () => {
    const profile = await createProfile(h.t);
    const requester = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds: 1800 });
    const brevetNow = h.aws.now;
    h.aws.now = () => new Date(h.t.clock.now().getTime() + (ALLOWANCE + 5) * 1000);
    try {
      const response = await issue(h.t, requester.key, request.id);
      expectProblem(response, 502, 'upstream-sts');
      expect(JSON.stringify(response.body)).not.toContain(h.aws.issued.at(-1)!.secretAccessKey);
    } finally {
      h.aws.now = brevetNow;
    }
    const [issued] = await auditOf(h.t, request.id, 'credentials.issued');
    expect(issued!.details).toMatchObject({ withheld: true, reason: 'aws-clock-ahead', accessKeyId: h.aws.issued.at(-1)!.accessKeyId });
  });
});
