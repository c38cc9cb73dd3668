// SPEC §13 sensitive access: when a request is created, CheckAccessNotGranted runs on the role's
// own policies (read through IAM: attached managed policies at their default version, inline
// policies, Brevet's deny policy excluded) and on the session policy. The outcome is on the
// request, in its Slack message and webhook; sensitiveRequired raises the approvals; an
// unreachable analyser fails closed; answers are cached by policy content. Real SDK clients
// against the IAM (query/XML) and Access Analyzer (REST-JSON) stand-ins.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { auth, uniqueName } from '../support/api.js';
import { startAccessAnalyzerStandIn, type AccessAnalyzerStandIn } from '../support/access-analyzer-stand-in.js';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in.js';
import { postsOf, runDeliveries, shownText, startSlackApp, randomSlackId, type SlackHarness } from '../slack/helpers.js';

let h: SlackHarness;
let analyzer: AccessAnalyzerStandIn;
let aws: AwsStandIn;

beforeAll(async () => {
  analyzer = await startAccessAnalyzerStandIn();
  aws = await startAwsStandIn();
  process.env['AWS_ENDPOINT_URL_ACCESSANALYZER'] = analyzer.url;
  process.env['AWS_ENDPOINT_URL_IAM'] = aws.url;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDBREVETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'brevet-own-secret';
  process.env['AWS_REGION'] = 'eu-west-1';
  h = await startSlackApp({ BREVET_EVIDENCE: 'true', BREVET_WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', BREVET_WEBHOOK_SECRET: 'webhook-secret' });
});
afterAll(async () => {
  await h?.close();
  await analyzer?.close();
  await aws?.close();
});
beforeEach(() => {
  analyzer.down = false;
  aws.iamPageSize = 100;
});

const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
/**
 * A role of its own for each test, with these attached managed policies (each at default version
 * v2; an older v1 granted iam:*, and must not count) and inline policies.
 */
function role(attached: Record<string, string>, inline: Record<string, string> = {}): string {
  const name = uniqueName('Role');
  const arns = Object.entries(attached).map(([policyName, document]) => {
    const arn = `arn:aws:iam::123456789012:policy/${policyName}-${name}`;
    aws.managedPolicies.set(arn, { name: policyName, defaultVersionId: 'v2', versions: new Map([['v1', doc({ Effect: 'Allow', Action: 'iam:*', Resource: '*' })], ['v2', document]]) });
    return arn;
  });
  aws.attachedPolicies.set(name, arns);
  aws.rolePolicies.set(name, new Map(Object.entries(inline)));
  return `arn:aws:iam::123456789012:role/${name}`;
}

const ADMIN = doc({ Effect: 'Allow', Action: '*', Resource: '*' });
const S3_READ = doc({ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' });

async function profileFor(roleArn: string, approval: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const created = await h.t
    .http()
    .post('/v1/profiles')
    .set(auth(h.t.adminKey))
    .send({ name: uniqueName(), roleArn, requesters: { groups: ['dev'] }, approval: { required: 1, approverGroups: ['sre'], ...approval }, ...extra });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; name: string; approval: Record<string, unknown> };
}

async function open(profileId: string, body: Record<string, unknown> = {}) {
  const alice = await h.t.principal({ groups: ['dev'] });
  const created = await h.t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: profileId, justification: 'INC-9 fix the deploy', ...body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const checksOf = (document: string) => analyzer.calls.filter((c) => c.operation === 'CheckAccessNotGranted' && c.body['policyDocument'] === document);

describe('profiles', () => {
  it('echo the default sensitive actions and no change of approvals; refuse sensitiveRequired below required', async () => {
    const profile = await profileFor(role({ S3: S3_READ }));
    expect(profile.approval).toMatchObject({ sensitiveActions: ['iam:*', 'organizations:*', 'sts:AssumeRole', 'kms:Decrypt'], sensitiveRequired: null });
    const base = { name: uniqueName(), roleArn: role({}), requesters: { groups: ['dev'] } };
    const lower = await h.t.http().post('/v1/profiles').set(auth(h.t.adminKey)).send({ ...base, approval: { required: 2, approverGroups: ['sre'], sensitiveRequired: 1 } }).expect(400);
    expect(lower.body.errors[0].field).toBe('/body/approval/sensitiveRequired');
    const odd = await h.t.http().post('/v1/profiles').set(auth(h.t.adminKey)).send({ ...base, approval: { required: 0, sensitiveActions: ['iam'] } }).expect(400);
    expect(odd.body.errors[0].field).toMatch(/^\/body\/approval\/sensitiveActions/);
  });
});

describe('a request for a role that may grant sensitive actions', () => {
  it('carries the evidence, needs sensitiveRequired approvals, and says so in Slack and the webhook', async () => {
    const channel = randomSlackId('C');
    const profile = await profileFor(role({ AdministratorAccess: ADMIN }), { sensitiveRequired: 2 }, { notify: { slackChannel: channel } });
    const request = await open(profile.id);
    expect(request.evidence).toEqual({ sensitive: ['iam:*', 'organizations:*', 'sts:AssumeRole', 'kms:Decrypt'], checkedAt: h.t.clock.now().toISOString() });
    expect(request.approvalsRequired).toBe(2);
    // The IAM reads the SPEC names, and CheckAccessNotGranted asked per action as the API documents.
    const iamActions = aws.iamCalls.map((c) => c.action);
    expect(iamActions).toEqual(expect.arrayContaining(['GetRole', 'ListAttachedRolePolicies', 'GetPolicy', 'GetPolicyVersion', 'ListRolePolicies']));
    expect(checksOf(ADMIN).map((c) => c.body)).toContainEqual({ policyDocument: ADMIN, policyType: 'IDENTITY_POLICY', access: [{ actions: ['iam:*'] }] });

    await runDeliveries(h);
    expect(shownText(postsOf(h, request.id)[0]!)).toContain('Grants iam:*, organizations:*, sts:AssumeRole, kms:Decrypt — needs 2 approvals');
    const [webhook] = await h.t.deps.db.select().from(deliveries).where(and(eq(deliveries.requestId, request.id), eq(deliveries.event, 'request.created')));
    expect((webhook!.payload as { request: { evidence: unknown } }).request.evidence).toEqual(request.evidence);

    // Two approvals, not one.
    const [bob, carol] = [await h.t.principal({ groups: ['sre'] }), await h.t.principal({ groups: ['sre'] })];
    const first = await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(bob.key)).send({ decision: 'approve' }).expect(200);
    expect(first.body.status).toBe('pending');
    const second = await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(carol.key)).send({ decision: 'approve' }).expect(200);
    expect(second.body.status).toBe('active');
  });

  it('reads the default version of a managed policy and the inline policies, never Brevet’s own deny policy', async () => {
    const roleArn = role({ Readers: S3_READ }, { PassRoles: doc({ Effect: 'Allow', Action: 'iam:PassRole', Resource: '*' }), 'BrevetRevocations-0123456789abcdef': doc({ Effect: 'Deny', Action: '*', Resource: '*' }) });
    aws.iamPageSize = 1;
    const request = await open((await profileFor(roleArn, { sensitiveRequired: 2 })).id);
    // v1 of Readers granted iam:*; v2, the default, does not: iam:* comes from the inline policy.
    expect(request.evidence.sensitive).toEqual(['iam:*']);
    expect(aws.iamCalls.filter((c) => c.action === 'GetPolicyVersion').at(-1)!.params).toMatchObject({ VersionId: 'v2' });
    expect(aws.iamCalls.some((c) => c.action === 'GetRolePolicy' && c.params['PolicyName']!.startsWith('BrevetRevocations-'))).toBe(false);
  });
});

describe('a request that grants nothing sensitive', () => {
  it('shows an empty list and keeps the approvals of required', async () => {
    const request = await open((await profileFor(role({ Readers: S3_READ }), { sensitiveRequired: 3 })).id);
    expect(request.evidence).toMatchObject({ sensitive: [] });
    expect(request.approvalsRequired).toBe(1);
  });

  it('when the session policy removes what the role grants', async () => {
    const sessionPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
    const removed = await open((await profileFor(role({ Admin: ADMIN }), { sensitiveRequired: 2 }, { sessionPolicy })).id);
    expect(removed.evidence.sensitive).toEqual([]);
    expect(removed.approvalsRequired).toBe(1);

    // A scope narrows further: only what both the role and the scope's policy may grant is left.
    const scoped = await open((await profileFor(role({ Admin: ADMIN }), { sensitiveRequired: 2 })).id, { scope: { actions: ['kms:Decrypt', 's3:GetObject'], resources: ['*'] } });
    expect(scoped.evidence.sensitive).toEqual(['kms:Decrypt']);
    expect(scoped.approvalsRequired).toBe(2);
  });
});

describe('when the check cannot run', () => {
  it('creates the request with the error as evidence and applies sensitiveRequired (fail closed)', async () => {
    // A policy no earlier test had checked: cached answers would need no analyser.
    const fresh = doc({ Sid: 'Fresh', Effect: 'Allow', Action: 's3:GetObject', Resource: '*' });
    const profile = await profileFor(role({ Fresh: fresh }), { sensitiveRequired: 2 }, { notify: { slackChannel: randomSlackId('C') } });
    analyzer.down = true;
    const request = await open(profile.id);
    expect(request.evidence).toEqual({ sensitive: null, error: expect.any(String), checkedAt: null });
    expect(request.approvalsRequired).toBe(2);
    await runDeliveries(h);
    // Approvers see that the check could not run, and what that costs.
    expect(shownText(postsOf(h, request.id)[0]!)).toMatch(/Sensitive-access check could not run \(.+\) — needs 2 approvals/);
  });

  it('fails closed too for a role outside Brevet’s account, whose policies IAM cannot read', async () => {
    const request = await open((await profileFor('arn:aws:iam::210987654321:role/Elsewhere', { sensitiveRequired: 2 })).id);
    expect(request.evidence).toMatchObject({ sensitive: null, error: expect.stringContaining('not in the account') });
    expect(request.approvalsRequired).toBe(2);
  });
});

describe('the cache', () => {
  it('asks Access Analyzer once per policy content and action, whatever the number of requests', async () => {
    const profile = await profileFor(role({ Readers: S3_READ }, { Extra: doc({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }) }));
    const before = analyzer.calls.length;
    await open(profile.id);
    const firstCalls = analyzer.calls.length - before;
    expect(firstCalls).toBeGreaterThan(0);
    const second = await open(profile.id);
    await open(profile.id);
    expect(analyzer.calls.length - before).toBe(firstCalls);
    expect(second.evidence.sensitive).toEqual(['kms:Decrypt']);
  });
});
