// SPEC §4.4: the Deny statement that kills one request's sessions, and the edits of an installation's
// BrevetRevocations-<installation> document: other owners' statements survive, each request appears once, and
// removing the last statement deletes the document.
import { describe, expect, it } from 'vitest';
import {
  denyStatementFor,
  denyingSid,
  mergedDenyStatement,
  revocationDocument,
  revocationPolicyName,
  roleNameOf,
  sessionNameFor,
  statementSid,
  sweepMoment,
  sweepStatement,
  SWEEP_CLOCK_MARGIN_MS,
  SWEEP_SID,
} from './deny-policy.js';
import { newId } from './ids.js';

const ID = 'req_0123456789abcdefghjk';
const OTHER = 'req_zyxwvtsrqpnmkjhgfedc';
const parse = (document: string | null) => JSON.parse(document!) as { Version: string; Statement: Record<string, unknown>[] };
const foreign = { Sid: 'SecurityQuarantine', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' };

describe('the statement', () => {
  it('denies everything to sessions whose aws:userid ends with :brevet-<requestId>, and nothing else', () => {
    expect(denyStatementFor(ID)).toEqual({
      Sid: 'BrevetRevokereq0123456789abcdefghjk',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringLike: { 'aws:userid': `*:brevet-${ID}` } },
    });
  });

  it('matches the session name Brevet gives STS, which is a valid RoleSessionName', () => {
    const id = newId('req');
    expect(sessionNameFor(id)).toBe(`brevet-${id}`);
    expect(sessionNameFor(id)).toMatch(/^[\w+=,.@-]{2,64}$/);
    const userid = (denyStatementFor(id)['Condition'] as { StringLike: Record<string, string> }).StringLike['aws:userid']!;
    expect(userid.endsWith(`:${sessionNameFor(id)}`)).toBe(true);
    // No wildcard but the role-id prefix: one request's statement matches no other request's sessions.
    expect(userid.slice(1)).not.toMatch(/[*?]/);
  });

  it('has a Sid of letters and digits only, distinct for distinct request ids', () => {
    const ids = Array.from({ length: 200 }, () => newId('req'));
    for (const id of ids) expect(statementSid(id)).toMatch(/^[A-Za-z0-9]+$/);
    expect(new Set(ids.map(statementSid)).size).toBe(ids.length);
  });
});

describe('revocationDocument', () => {
  it('creates the document when the role has none', () => {
    expect(parse(revocationDocument(undefined, [ID]))).toEqual({ Version: '2012-10-17', Statement: [denyStatementFor(ID)] });
  });

  it("keeps another owner's statements unchanged and rebuilds Brevet's from the ids given", () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign, denyStatementFor(OTHER)] });
    expect(parse(revocationDocument(existing, [OTHER, ID])).Statement).toEqual([foreign, ...[ID, OTHER].sort().map(denyStatementFor)]);
  });

  it('restores a Deny that a stale IAM read lacks: the ids, not the document, decide', () => {
    const stale = JSON.stringify({ Version: '2012-10-17', Statement: [foreign] });
    expect(parse(revocationDocument(stale, [OTHER, ID])).Statement).toEqual([foreign, ...[ID, OTHER].sort().map(denyStatementFor)]);
  });

  it('accepts a document whose Statement is a single object', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: foreign });
    expect(parse(revocationDocument(existing, [ID])).Statement).toEqual([foreign, denyStatementFor(ID)]);
  });

  it('is idempotent: the same ids give the same document, each request once', () => {
    const once = revocationDocument(undefined, [ID, ID]);
    expect(revocationDocument(once!, [ID])).toBe(once);
    expect(parse(once).Statement).toHaveLength(1);
  });

  it('refuses to overwrite a document it cannot read', () => {
    expect(() => revocationDocument('{not json', [ID])).toThrow();
  });

  it("removes a request's statement by leaving its id out, and keeps the rest", () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign, denyStatementFor(ID), denyStatementFor(OTHER)] });
    expect(parse(revocationDocument(existing, [OTHER])).Statement).toEqual([foreign, denyStatementFor(OTHER)]);
  });

  it('returns null (delete the policy) when nothing is left, or when there was nothing', () => {
    expect(revocationDocument(revocationDocument(undefined, [ID])!, [])).toBeNull();
    expect(revocationDocument(undefined, [])).toBeNull();
  });
});

describe('roleNameOf', () => {
  it.each([
    ['arn:aws:iam::123456789012:role/Admin', 'Admin'],
    ['arn:aws:iam::123456789012:role/team/payments/Deployer', 'Deployer'],
    ['arn:aws-us-gov:iam::123456789012:role/svc+ops=1,x.y@z-w', 'svc+ops=1,x.y@z-w'],
  ])('%s → %s (IAM takes the name without its path)', (arn, name) => {
    expect(roleNameOf(arn)).toBe(name);
  });

  it("names the policy after the installation, within IAM's policy-name alphabet and length", () => {
    const name = revocationPolicyName('0f3a9c51d2e47b68');
    expect(name).toBe('BrevetRevocations-0f3a9c51d2e47b68');
    expect(name).toMatch(/^[\w+=,.@-]{1,128}$/);
  });

  it.each(['', 'BrevetRevocations', '0F3A9C51D2E47B68', '0f3a9c51d2e47b6', '0f3a9c51d2e47b689', '0f3a9c51d2e47b6/', '*'])(
    'refuses %j as an installation id: a policy name must never match another installation',
    (id) => {
      expect(() => revocationPolicyName(id)).toThrow();
    },
  );
});

describe('many revoked requests on one role', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `req_${String(i).padStart(20, '0')}`);
  const userids = (document: string) =>
    parse(document).Statement.flatMap((s) => {
      const userid = (s['Condition'] as { StringLike: Record<string, string | string[]> }).StringLike['aws:userid']!;
      return Array.isArray(userid) ? userid : [userid];
    });

  it('keeps a statement per request while they are few', () => {
    const document = revocationDocument(undefined, ids(20))!;
    expect(parse(document).Statement).toEqual(ids(20).map(denyStatementFor));
    expect(denyingSid(document, ids(20)[7]!)).toBe(statementSid(ids(20)[7]!));
  });

  it('merges them into one statement once a statement each would crowd IAM’s 10,240 characters, denying exactly the same sessions', () => {
    const many = ids(270);
    const document = revocationDocument(undefined, many)!;
    expect(document.length).toBeLessThanOrEqual(10_240);
    expect(parse(document).Statement).toEqual([mergedDenyStatement(many)]);
    expect(userids(document).sort()).toEqual(many.map((id) => `*:${sessionNameFor(id)}`).sort());
    expect(denyingSid(document, many[100]!)).toBe('BrevetRevokeMany');
    expect(denyingSid(document, 'req_other')).toBeUndefined();
  });

  it('keeps foreign statements beside the merged one and goes back to one each when few are left', () => {

    const merged = revocationDocument(JSON.stringify({ Version: '2012-10-17', Statement: [foreign] }), ids(100))!;
    expect(parse(merged).Statement).toEqual([foreign, mergedDenyStatement(ids(100))]);
    expect(parse(revocationDocument(merged, ids(2))!).Statement).toEqual([foreign, ...ids(2).map(denyStatementFor)]);
    expect(revocationDocument(merged, [])).toBe(JSON.stringify({ Version: '2012-10-17', Statement: [foreign] }));
  });
});

describe('a sweep (no room left for the merged statement)', () => {
  const at = new Date('2031-05-06T07:08:09.250Z');

  it('denies every Brevet session issued before now and a margin for clocks apart, rounded up to a whole second, and nothing else', () => {
    expect(SWEEP_CLOCK_MARGIN_MS).toBe(2_000);
    expect(sweepMoment(at).toISOString()).toBe('2031-05-06T07:08:12.000Z');
    expect(sweepMoment(new Date('2031-05-06T07:08:10.000Z')).toISOString()).toBe('2031-05-06T07:08:12.000Z');
    expect(sweepStatement(new Date('2031-05-06T07:08:10.000Z'))).toEqual({
      Sid: SWEEP_SID,
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringLike: { 'aws:userid': '*:brevet-*' }, DateLessThan: { 'aws:TokenIssueTime': '2031-05-06T07:08:10Z' } },
    });
  });

  it('stands beside foreign statements and the statements of requests it does not cover, and is dropped on the next rebuild without it', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign, denyStatementFor(OTHER)] });
    const swept = revocationDocument(existing, [ID], { sweptBefore: at })!;
    expect(parse(swept).Statement).toEqual([foreign, sweepStatement(at), denyStatementFor(ID)]);
    expect(parse(revocationDocument(swept, [], { sweptBefore: at })!).Statement).toEqual([foreign, sweepStatement(at)]);
    expect(parse(revocationDocument(swept, [ID])!).Statement).toEqual([foreign, denyStatementFor(ID)]);
    expect(denyingSid(swept, OTHER)).toBeUndefined();
  });
});
