// deny-policy edits a role by name in the account of Brevet's own credentials. A profile role in
// another account must not be "revoked" by editing a same-named role here, and a role that does
// not exist is reported as such.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reconcile } from '../../src/jobs/reconciler.js';
import { auditOf, createProfile, issue, openRequest, revoke, roleArn, startHarness, uniqueName, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

it('marks the deny policy failed, audits why, and edits no role', async () => {
  const { t, aws } = h;
  const profile = await createProfile(t, { roleArn: 'arn:aws:iam::210987654321:role/Admin', revocation: 'deny-policy' });
  const alice = await t.principal({ groups: ['dev'] });
  const request = await openRequest(t, alice.key, profile.name);
  await issue(t, alice.key, request.id).expect(200);

  const revoked = await revoke(t, alice.key, request.id).expect(200);
  expect(revoked.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'failed' });
  expect(aws.rolePolicies.get('Admin')).toBeUndefined();
  const [failure] = await auditOf(t, request.id, 'revocation.deny-policy-failed');
  expect(String((failure!.details as { reason: string }).reason)).toMatch(
    /^the role arn:aws:iam::210987654321:role\/Admin is not in the account of Brevet's credentials \(a role of that name there is arn:aws:iam::123456789012:role\/Admin\)/,
  );

  // Not retried forever: the sweep leaves a failed deny policy alone.
  const iamCalls = aws.iamCalls.length;
  await reconcile({ ...t.deps, logger: t.deps.logger });
  expect(aws.iamCalls.length).toBe(iamCalls);
  await issue(t, alice.key, request.id).expect(409);
});

it('a role deleted since the credentials were issued: failed, and the reason says IAM has no such role', async () => {
  const { t, aws } = h;
  const roleName = uniqueName('Gone').replace(/[^\w+=,.@-]/g, '');
  const profile = await createProfile(t, { roleArn: roleArn(roleName), revocation: 'deny-policy' });
  const alice = await t.principal({ groups: ['dev'] });
  const request = await openRequest(t, alice.key, profile.name);
  await issue(t, alice.key, request.id).expect(200);
  aws.missingRoles.add(roleName);

  const revoked = await revoke(t, alice.key, request.id).expect(200);
  expect(revoked.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'failed' });
  expect(aws.iamCalls.filter((call) => call.params['RoleName'] === roleName).map((call) => call.action)).toEqual(['GetRole']);
  const [failure] = await auditOf(t, request.id, 'revocation.deny-policy-failed');
  const reason = String((failure!.details as { reason: string }).reason);
  expect(reason).toContain(`IAM has no role named ${roleName}`);
  expect(reason).toContain('NoSuchEntity');
  expect(reason).toContain('does not exist');
  expect(reason).not.toContain('found none');
});
