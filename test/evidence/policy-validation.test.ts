// SPEC §13 policy validation: profile session policies and request scopes are checked with IAM
// Access Analyzer ValidatePolicy (a stand-in speaking its REST-JSON protocol, reached by the real
// SDK client): ERROR findings refuse, other findings are kept on the profile version, an
// unreachable analyser refuses a profile save with 503 and saves nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auth, createProfile, uniqueName } from '../support/api.js';
import { startTestApp } from '../support/app.js';
import { startEvidenceHarness, type EvidenceHarness } from './helpers.js';

let h: EvidenceHarness;

beforeAll(async () => {
  h = await startEvidenceHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.analyzer.down = false;
  h.analyzer.pageSize = 100;
  h.analyzer.calls.length = 0;
});

/** PassRole on every role, no Version, an action twice: a security warning, a warning and a suggestion. */
const LOOSE_POLICY = { Statement: [{ Effect: 'Allow', Action: ['iam:PassRole', 's3:GetObject', 's3:GetObject'], Resource: '*' }] };
/** S3 ARNs hold no account: an ERROR finding. */
const BROKEN_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bucket/*' }, { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:eu-west-1:123456789012:bucket' }] };

function postProfile(body: Record<string, unknown>) {
  return h.t
    .http()
    .post('/v1/profiles')
    .set(auth(h.t.adminKey))
    .send({ name: uniqueName(), roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'] }, approval: { required: 0 }, ...body });
}

describe('profile session policies', () => {
  it('keeps findings other than errors on the version, as Access Analyzer returns them, and shows them', async () => {
    const created = await postProfile({ sessionPolicy: LOOSE_POLICY });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const codes = (created.body.policyFindings as { findingType: string; issueCode: string }[]).map((f) => [f.findingType, f.issueCode]);
    expect(codes).toEqual(
      expect.arrayContaining([
        ['WARNING', 'MISSING_VERSION'],
        ['SECURITY_WARNING', 'PASS_ROLE_WITH_STAR_IN_RESOURCE'],
        ['SUGGESTION', 'REDUNDANT_ACTION'],
      ]),
    );
    const suggestion = created.body.policyFindings.find((f: { issueCode: string }) => f.issueCode === 'REDUNDANT_ACTION');
    expect(suggestion).toMatchObject({
      findingDetails: expect.stringContaining('s3:GetObject'),
      learnMoreLink: expect.stringMatching(/^https:\/\//),
      locations: [{ path: [{ value: 'Statement' }, { index: 0 }, { value: 'Action' }, { index: 2 }], span: { start: { line: 1 }, end: {} } }],
    });
    // The SDK sent what the API documents: the policy as a JSON string, an identity policy.
    expect(h.analyzer.calls).toEqual([{ operation: 'ValidatePolicy', body: { policyDocument: JSON.stringify(LOOSE_POLICY), policyType: 'IDENTITY_POLICY' } }]);

    const read = await h.t.http().get(`/v1/profiles/${created.body.id}`).set(auth(h.t.adminKey)).expect(200);
    expect(read.body.policyFindings).toEqual(created.body.policyFindings);
  });

  it('collects every page of findings', async () => {
    h.analyzer.pageSize = 1;
    const created = await postProfile({ sessionPolicy: LOOSE_POLICY });
    expect(created.body.policyFindings).toHaveLength(3);
    expect(h.analyzer.calls).toHaveLength(3);
  });

  it('refuses a session policy with an ERROR finding, naming it and where it is, and saves nothing', async () => {
    const name = uniqueName();
    const refused = await postProfile({ name, sessionPolicy: BROKEN_POLICY }).expect(400);
    expect(refused.body.type).toBe('validation');
    expect(refused.body.detail).toMatch(/^\/body\/sessionPolicy ARN_ACCOUNT_NOT_ALLOWED: The service s3 does not support/);
    expect(refused.body.errors[0]).toMatchObject({ field: '/body/sessionPolicy', message: expect.stringMatching(/\(line 1, column \d+\)$/) });
    await h.t.http().get(`/v1/profiles/${name}`).set(auth(h.t.adminKey)).expect(404);
  });

  it('refuses an edit whose policy has an ERROR; the version stays', async () => {
    const profile = await createProfile(h.t);
    await h.t.http().patch(`/v1/profiles/${profile.id}`).set(auth(h.t.adminKey)).send({ sessionPolicy: BROKEN_POLICY }).expect(400);
    const read = await h.t.http().get(`/v1/profiles/${profile.id}`).set(auth(h.t.adminKey)).expect(200);
    expect(read.body).toMatchObject({ version: 1, sessionPolicy: null, policyFindings: null });

    const edited = await h.t.http().patch(`/v1/profiles/${profile.id}`).set(auth(h.t.adminKey)).send({ sessionPolicy: LOOSE_POLICY }).expect(200);
    expect(edited.body.version).toBe(2);
    expect(edited.body.policyFindings).toHaveLength(3);
  });

  it('answers 503 when Access Analyzer is down, and saves nothing', async () => {
    h.analyzer.down = true;
    const name = uniqueName();
    const refused = await postProfile({ name, sessionPolicy: LOOSE_POLICY }).expect(503);
    expect(refused.body.type).toBe('unavailable');
    expect(refused.body.detail).toMatch(/Access Analyzer/);
    await h.t.http().get(`/v1/profiles/${name}`).set(auth(h.t.adminKey)).expect(404);
    // A profile without a session policy has nothing to validate.
    await postProfile({}).expect(201);
  });
});

describe('request scopes', () => {
  it('refuses a scope whose session policy has an ERROR finding (400 naming scope) and accepts a clean one', async () => {
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const open = (resources: string[]) =>
      h.t
        .http()
        .post('/v1/requests')
        .set(auth(alice.key))
        .send({ profile: profile.id, justification: 'INC-7 read the logs', scope: { actions: ['s3:ListBucket'], resources } });
    const refused = await open(['arn:aws:s3:eu-west-1:123456789012:logs']).expect(400);
    expect(refused.body.detail).toMatch(/^\/body\/scope ARN_ACCOUNT_NOT_ALLOWED/);
    expect(refused.body.errors[0].field).toBe('/body/scope');
    await open(['arn:aws:s3:::logs']).expect(201);
    expect(JSON.parse(h.analyzer.calls.at(-1)!.body['policyDocument'] as string)).toMatchObject({ Statement: [{ Sid: 'BrevetRequestScope', Action: ['s3:ListBucket'] }] });
  });
});

describe('with BREVET_EVIDENCE off', () => {
  it('calls no analyser and shows no findings', async () => {
    const off = await startTestApp();
    try {
      const created = await off.http().post('/v1/profiles').set(auth(off.adminKey)).send({ name: uniqueName(), roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'] }, approval: { required: 0 }, sessionPolicy: BROKEN_POLICY });
      expect(created.status).toBe(201);
      expect(created.body.policyFindings).toBeNull();
      expect(h.analyzer.calls).toEqual([]);
    } finally {
      await off.close();
    }
  });
});
