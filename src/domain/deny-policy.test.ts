// SPEC §4.4: the Deny statement that kills one request's sessions, and the edits of the shared
// BrevetRevocations document: other owners' statements survive, each request appears once, and
// removing the last statement deletes the document.
import { describe, expect, it } from 'vitest';
import { denyStatementFor, REVOCATION_POLICY_NAME, roleNameOf, sessionNameFor, statementSid, withDenyStatement, withoutDenyStatement } from './deny-policy.js';
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

describe('withDenyStatement', () => {
  it('creates the document when the role has none', () => {
    expect(parse(withDenyStatement(undefined, ID))).toEqual({ Version: '2012-10-17', Statement: [denyStatementFor(ID)] });
  });

  it("appends to the statements already there, another owner's included, unchanged", () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign, denyStatementFor(OTHER)] });
    expect(parse(withDenyStatement(existing, ID)).Statement).toEqual([foreign, denyStatementFor(OTHER), denyStatementFor(ID)]);
  });

  it('accepts a document whose Statement is a single object', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: foreign });
    expect(parse(withDenyStatement(existing, ID)).Statement).toEqual([foreign, denyStatementFor(ID)]);
  });

  it('is idempotent: a retried revocation adds no second copy', () => {
    const once = withDenyStatement(undefined, ID);
    expect(withDenyStatement(once, ID)).toBe(once);
  });

  it('refuses to overwrite a document it cannot read', () => {
    expect(() => withDenyStatement('{not json', ID)).toThrow();
  });
});

describe('withoutDenyStatement', () => {
  it("removes only this request's statement", () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign, denyStatementFor(ID), denyStatementFor(OTHER)] });
    expect(parse(withoutDenyStatement(existing, ID)).Statement).toEqual([foreign, denyStatementFor(OTHER)]);
  });

  it('returns null (delete the policy) when the last statement goes, or when there was no document', () => {
    expect(withoutDenyStatement(withDenyStatement(undefined, ID), ID)).toBeNull();
    expect(withoutDenyStatement(undefined, ID)).toBeNull();
  });

  it("leaves a document without this request's statement as it was", () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign] });
    expect(parse(withoutDenyStatement(existing, ID))).toEqual({ Version: '2012-10-17', Statement: [foreign] });
  });

  it('round-trips: add then remove gives back the statements that were there', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [foreign] });
    expect(parse(withoutDenyStatement(withDenyStatement(withDenyStatement(existing, ID), OTHER), ID)).Statement).toEqual([foreign, denyStatementFor(OTHER)]);
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

  it('names the policy BrevetRevocations', () => {
    expect(REVOCATION_POLICY_NAME).toBe('BrevetRevocations');
  });
});
