// SPEC §1 and §4.1: a request's scope may only narrow the profile's session policy. Attacked from
// the sides a requester can push on: wildcards (`*`, `?`) on either side, the case of actions and
// of ARNs, pairing an action of one statement with a resource of another, and policy elements the
// checker cannot reason about. Deny statements of the profile must survive the narrowing.
import { describe, expect, it } from 'vitest';
import { checkScope, patternContains, PROFILE_POLICY_MAX_CHARACTERS, SESSION_POLICY_MAX_CHARACTERS, sessionPolicyFor, windowCutOffPolicy, type Scope } from './session-policy.js';

const policy = (...Statement: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement });
const allow = (Action: string | string[], Resource: string | string[]) => ({ Effect: 'Allow', Action, Resource });
const deny = (Action: string | string[], Resource: string | string[]) => ({ Effect: 'Deny', Action, Resource });
const scope = (actions: string[], resources: string[]): Scope => ({ actions, resources });

const REPORTS = policy(allow('s3:Get*', 'arn:aws:s3:::reports/*'));

describe('patternContains (every string the inner pattern matches, the outer one matches too)', () => {
  it.each<[string, string, boolean, boolean]>([
    // [outer, inner, caseInsensitive, contained]
    ['s3:Get*', 's3:GetObject', true, true],
    ['s3:Get*', 's3:Get*', true, true],
    ['s3:Get*', 's3:GetObject*', true, true],
    ['s3:Get*', 's3:Get?bject', true, true],
    ['s3:Get*', 's3:*', true, false],
    ['s3:Get*', '*', true, false],
    ['s3:Get*', 's3:G*', true, false],
    ['s3:Get*', 's3:*Get', true, false],
    ['s3:Get*', 's3:G?tObject', true, false],
    ['s3:GetObject', 's3:GetObject*', true, false],
    ['s3:GetObject', 's3:GetObjec?', true, false],
    ['s3:?etObject', 's3:GetObject', true, true],
    ['s3:?etObject', 's3:?etObject', true, true],
    ['s3:?etObject', 's3:*etObject', true, false],
    ['s3:?etObject', 's3:etObject', true, false],
    ['*', 'anything:at*all?', true, true],
    ['*', '', true, true],
    ['', '', true, true],
    ['', 'x', true, false],
    ['s3:Get*', 'S3:GETOBJECT', true, true],
    ['S3:GETOBJECT', 's3:getobject', true, true],
    ['arn:aws:s3:::reports/*', 'arn:aws:s3:::REPORTS/x', false, false],
    ['arn:aws:s3:::reports/*', 'arn:aws:s3:::reports/2024/*', false, true],
    ['arn:aws:s3:::reports/*', 'arn:aws:s3:::reports*', false, false],
    ['arn:aws:s3:::reports/*', 'arn:aws:s3:::reports', false, false],
    ['arn:aws:s3:::reports/*/x', 'arn:aws:s3:::reports/a/b/x', false, true],
    ['arn:aws:s3:::reports/*/x', 'arn:aws:s3:::reports/a/*', false, false],
    ['a*b*c', 'a*c', false, false],
    ['a*c', 'a*b*c', false, true],
  ])('%s ⊇ %s (case-insensitive: %s) → %s', (outer, inner, caseInsensitive, contained) => {
    expect(patternContains(outer, inner, caseInsensitive)).toBe(contained);
  });

  it('stays fast on patterns made to backtrack', () => {
    const outer = `${'*a'.repeat(40)}*`;
    const inner = `${'a'.repeat(200)}b`;
    const started = performance.now();
    expect(patternContains(outer, inner, false)).toBe(true);
    expect(patternContains(`${outer}c`, inner, false)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('checkScope', () => {
  it('accepts any scope when the profile has no session policy (the role itself bounds it)', () => {
    expect(checkScope(null, scope(['*'], ['*']))).toEqual({ ok: true });
  });

  it.each<[string, Scope]>([
    ['the same wildcard', scope(['s3:Get*'], ['arn:aws:s3:::reports/*'])],
    ['one action, one prefix', scope(['s3:GetObject'], ['arn:aws:s3:::reports/2024/*'])],
    ['actions in another case (IAM actions are case-insensitive)', scope(['S3:GETOBJECT', 's3:getobjectversion'], ['arn:aws:s3:::reports/a.csv'])],
    ['a ? inside the allowed prefix', scope(['s3:GetObjec?'], ['arn:aws:s3:::reports/?.csv'])],
  ])('accepts a narrower scope: %s', (_, narrower) => {
    expect(checkScope(REPORTS, narrower)).toEqual({ ok: true });
  });

  it.each<[string, Scope]>([
    ['s3:* against s3:Get*', scope(['s3:*'], ['arn:aws:s3:::reports/*'])],
    ['* against s3:Get*', scope(['*'], ['arn:aws:s3:::reports/*'])],
    ['s3:G* against s3:Get*', scope(['s3:G*'], ['arn:aws:s3:::reports/*'])],
    ['a ? where the profile has a literal', scope(['s3:G?tObject'], ['arn:aws:s3:::reports/*'])],
    ['another service', scope(['iam:GetRole'], ['arn:aws:s3:::reports/*'])],
    ['an action name that merely starts like an allowed one', scope(['s3:PutObject'], ['arn:aws:s3:::reports/*'])],
    ['a resource wildcard', scope(['s3:GetObject'], ['*'])],
    ['a prefix that also matches reports-private', scope(['s3:GetObject'], ['arn:aws:s3:::reports*'])],
    ['the bucket itself, outside reports/*', scope(['s3:GetObject'], ['arn:aws:s3:::reports'])],
    ['an ARN in another case (ARNs are case-sensitive)', scope(['s3:GetObject'], ['arn:aws:s3:::REPORTS/x'])],
    ['one good and one bad resource', scope(['s3:GetObject'], ['arn:aws:s3:::reports/x', 'arn:aws:s3:::payroll/x'])],
    ['one good and one bad action', scope(['s3:GetObject', 's3:DeleteObject'], ['arn:aws:s3:::reports/x'])],
  ])('refuses a scope that would widen: %s', (_, wider) => {
    const result = checkScope(REPORTS, wider);
    expect(result.ok).toBe(false);
  });

  it('names what is not allowed', () => {
    expect(checkScope(REPORTS, scope(['s3:*'], ['arn:aws:s3:::reports/*']))).toEqual({
      ok: false,
      reason: 's3:* on arn:aws:s3:::reports/* is not allowed by the profile session policy',
    });
  });

  it('needs one Allow statement covering each (action, resource) pair: no mixing across statements', () => {
    const profile = policy(allow('s3:GetObject', 'arn:aws:s3:::public/*'), allow('s3:DeleteObject', 'arn:aws:s3:::scratch/*'));
    expect(checkScope(profile, scope(['s3:GetObject'], ['arn:aws:s3:::public/*']))).toEqual({ ok: true });
    expect(checkScope(profile, scope(['s3:DeleteObject'], ['arn:aws:s3:::public/x'])).ok).toBe(false);
    expect(checkScope(profile, scope(['s3:GetObject', 's3:DeleteObject'], ['arn:aws:s3:::public/*', 'arn:aws:s3:::scratch/*'])).ok).toBe(false);
  });

  it('never counts a Deny statement as allowing anything', () => {
    expect(checkScope(policy(deny('s3:*', '*')), scope(['s3:GetObject'], ['arn:aws:s3:::x'])).ok).toBe(false);
  });

  it('accepts a single statement object as well as a list, and Action/Resource as strings or lists', () => {
    const single = { Version: '2012-10-17', Statement: { Sid: 'One', Effect: 'Allow', Action: ['ec2:Describe*'], Resource: '*' } };
    expect(checkScope(single, scope(['ec2:DescribeInstances'], ['*']))).toEqual({ ok: true });
  });

  it.each<[string, Record<string, unknown>]>([
    ['Condition', { ...allow('s3:*', '*'), Condition: { Bool: { 'aws:SecureTransport': 'true' } } }],
    ['NotAction', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }],
    ['NotResource', { Effect: 'Allow', Action: 's3:*', NotResource: 'arn:aws:s3:::payroll/*' }],
    ['Principal', { ...allow('s3:*', '*'), Principal: '*' }],
    ['an Effect in lower case', { Effect: 'allow', Action: 's3:*', Resource: '*' }],
    ['no Resource', { Effect: 'Allow', Action: 's3:*' }],
    ['a non-string Action', { Effect: 'Allow', Action: [1], Resource: '*' }],
  ])('refuses any scope when a profile statement uses %s (it cannot reason about it)', (_, statement) => {
    const profile = policy(allow('s3:GetObject', 'arn:aws:s3:::reports/*'), statement);
    const result = checkScope(profile, scope(['s3:GetObject'], ['arn:aws:s3:::reports/x']));
    expect(result.ok).toBe(false);
  });

  it('refuses a scope of a Deny statement with a Condition too: its Allow could not be kept intact otherwise', () => {
    const profile = policy(allow('s3:*', '*'), { ...deny('s3:DeleteObject', '*'), Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } } });
    expect(checkScope(profile, scope(['s3:GetObject'], ['arn:aws:s3:::x'])).ok).toBe(false);
  });

  it('refuses an empty scope, which would make an Allow of nothing that STS rejects', () => {
    expect(checkScope(REPORTS, scope([], ['arn:aws:s3:::reports/x'])).ok).toBe(false);
    expect(checkScope(REPORTS, scope(['s3:GetObject'], [])).ok).toBe(false);
    expect(checkScope(null, scope([], [])).ok).toBe(false);
  });
});

describe('checkScope, actions only', () => {
  const actionsOnly = (...actions: string[]): Scope => ({ actions });

  it('accepts actions some Allow statement of the profile grants, on whatever resources', () => {
    expect(checkScope(REPORTS, actionsOnly('s3:GetObject', 's3:getobjectversion'))).toEqual({ ok: true });
    expect(checkScope(null, actionsOnly('ec2:*'))).toEqual({ ok: true });
  });

  it('names an action the profile does not grant; a Deny grants nothing', () => {
    expect(checkScope(REPORTS, actionsOnly('s3:GetObject', 's3:PutObject'))).toEqual({ ok: false, reason: 's3:PutObject is not allowed by the profile session policy' });
    expect(checkScope(REPORTS, actionsOnly('s3:*')).ok).toBe(false);
    expect(checkScope(policy(deny('iam:*', '*'), allow('s3:*', '*')), actionsOnly('iam:PassRole')).ok).toBe(false);
  });

  it('accepts them under a profile policy with conditions too: denying every other action narrows any policy', () => {
    const profile = policy({ ...allow('s3:*', '*'), Condition: { Bool: { 'aws:SecureTransport': 'true' } } });
    expect(checkScope(profile, actionsOnly('ec2:RunInstances'))).toEqual({ ok: true });
  });

  it('refuses no actions at all, and an empty list of resources', () => {
    expect(checkScope(REPORTS, actionsOnly()).ok).toBe(false);
    expect(checkScope(null, { actions: ['s3:GetObject'], resources: [] }).ok).toBe(false);
  });
});

describe('sessionPolicyFor', () => {
  it('is the profile policy, unchanged, when the request has no scope', () => {
    const profile = policy(allow('s3:Get*', '*'), { ...deny('s3:GetObject', 'arn:aws:s3:::payroll/*'), Condition: { Bool: { 'aws:ViaAWSService': 'false' } } });
    expect(JSON.parse(sessionPolicyFor(profile, null)!)).toEqual(profile);
  });

  it('is no policy at all without profile policy and scope', () => {
    expect(sessionPolicyFor(null, null)).toBeUndefined();
  });

  it("is the scope's Allow plus every Deny statement of the profile, verbatim", () => {
    const denySecrets = { Sid: 'NoSecrets', ...deny('s3:*', 'arn:aws:s3:::reports/secret/*') };
    const profile = policy(allow('s3:Get*', 'arn:aws:s3:::reports/*'), denySecrets, allow('s3:List*', 'arn:aws:s3:::reports'));
    const narrowed = JSON.parse(sessionPolicyFor(profile, scope(['s3:GetObject'], ['arn:aws:s3:::reports/*']))!);
    expect(narrowed).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'BrevetRequestScope', Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['arn:aws:s3:::reports/*'] }, denySecrets],
    });
  });

  it('keeps Deny statements it cannot reason about (Condition, NotAction) rather than dropping them', () => {
    const conditional = { ...deny('s3:*', '*'), Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    const notAction = { Effect: 'Deny', NotAction: ['s3:Get*'], Resource: '*' };
    const profile = policy(allow('s3:*', '*'), conditional, notAction);
    const narrowed = JSON.parse(sessionPolicyFor(profile, scope(['s3:GetObject'], ['*']))!);
    expect(narrowed.Statement).toEqual([expect.objectContaining({ Sid: 'BrevetRequestScope' }), conditional, notAction]);
  });

  it('keeps a Deny given as a single statement object', () => {
    const only = deny('iam:*', '*');
    const narrowed = JSON.parse(sessionPolicyFor({ Version: '2012-10-17', Statement: only }, scope(['s3:GetObject'], ['*']))!);
    expect(narrowed.Statement).toEqual([expect.objectContaining({ Effect: 'Allow' }), only]);
  });

  it('with actions only, is the profile policy as it is plus a Deny of every other action', () => {
    const conditional = { ...deny('s3:*', '*'), Condition: { Bool: { 'aws:SecureTransport': 'false' } } };
    const profile = { ...policy(allow('s3:Get*', 'arn:aws:s3:::reports/*'), conditional), Id: 'reports' };
    expect(JSON.parse(sessionPolicyFor(profile, { actions: ['s3:GetObject'] })!)).toEqual({
      ...profile,
      Statement: [...profile.Statement, { Sid: 'BrevetRequestScope', Effect: 'Deny', NotAction: ['s3:GetObject'], Resource: '*' }],
    });
    // No profile policy: everything the role allows, but those actions.
    expect(JSON.parse(sessionPolicyFor(null, { actions: ['ec2:Describe*'] })!)).toEqual(
      policy(allow('*', '*'), { Sid: 'BrevetRequestScope', Effect: 'Deny', NotAction: ['ec2:Describe*'], Resource: '*' }),
    );
  });

  it('is the scope alone when the profile has no policy', () => {
    expect(JSON.parse(sessionPolicyFor(null, scope(['ec2:Describe*'], ['*']))!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'BrevetRequestScope', Effect: 'Allow', Action: ['ec2:Describe*'], Resource: ['*'] }],
    });
  });
});

describe('the largest profile policy', () => {
  it('still fits STS’s 2,048 characters with the window-end statement added', () => {
    const allow = { Effect: 'Allow', Action: 's3:GetObject', Resource: '' };
    const padding = PROFILE_POLICY_MAX_CHARACTERS - JSON.stringify({ Version: '2012-10-17', Statement: [allow] }).length;
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ ...allow, Resource: 'r'.repeat(padding) }] });
    expect(policy).toHaveLength(PROFILE_POLICY_MAX_CHARACTERS);
    expect(windowCutOffPolicy(policy, new Date('2026-12-03T23:59:59.999Z')).length).toBeLessThanOrEqual(SESSION_POLICY_MAX_CHARACTERS);
  });
});
