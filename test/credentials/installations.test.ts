// Issue 10 item 10: two Brevet installations (two databases) share one IAM role. Each rebuilds
// its Deny statements from its own database, so each must own a policy of its own on the role
// (BrevetRevocations-<installation id>) and never read nor write another's: a revocation or a
// clean-up by one never erases a Deny the other wrote, and the other's `applied` stays true.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installationId } from '../../src/credentials/repo.js';
import { removeDenyPolicy } from '../../src/credentials/deny-policy-revocation.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createProfile, issue, openRequest, requestRow, revocationPolicyOf, revoke, roleArn, startHarness, uniqueName, type Harness } from './helpers.js';

let h: Harness;
/** The second installation: its own database, the same AWS account, stand-in and clock. */
let other: TestApp;
beforeAll(async () => {
  h = await startHarness();
  other = await startTestApp({
    env: { BREVET_FEDERATION_URL: h.federation.url },
    overrides: { aws: { maxAttempts: 1, timeoutMs: 1000 }, clock: h.t.clock },
  });
});
afterAll(async () => {
  await other?.close();
  await h?.close();
});

const denyOf = (requestId: string) => expect.objectContaining({ Effect: 'Deny', Condition: { StringLike: { 'aws:userid': `*:brevet-${requestId}` } } });
const policyOn = (roleName: string, policyName: string) => {
  const text = h.aws.rolePolicies.get(roleName)?.get(policyName);
  return text === undefined ? undefined : (JSON.parse(text) as { Statement: Record<string, unknown>[] }).Statement;
};

/** A request of a deny-policy profile on `roleName`, active, with credentials out. */
async function withCredentials(t: TestApp, roleName: string) {
  const profile = await createProfile(t, { roleArn: roleArn(roleName), revocation: 'deny-policy' });
  const requester = await t.principal({ groups: ['dev'] });
  const request = await openRequest(t, requester.key, profile.name);
  await issue(t, requester.key, request.id).expect(200);
  return { request, requester };
}

describe('an installation', () => {
  it('has an id of its own, written once by the migrations and never changed', async () => {
    const mine = await installationId(h.t.deps.db);
    const theirs = await installationId(other.deps.db);
    expect(mine).toMatch(/^[a-z0-9]{16}$/);
    expect(theirs).toMatch(/^[a-z0-9]{16}$/);
    expect(mine).not.toBe(theirs);

    await h.t.deps.database.migrate();
    expect(await installationId(h.t.deps.db), 'migrating again keeps it').toBe(mine);
    /** The database's own refusal (drizzle wraps it as the cause of "Failed query"). */
    const refusal = (query: ReturnType<typeof sql>) =>
      h.t.deps.db.execute(query).then(
        () => 'accepted',
        (error: Error & { cause?: Error }) => (error.cause ?? error).message,
      );
    expect(await refusal(sql`update installation set id = 'aaaaaaaaaaaaaaaa'`)).toMatch(/installation is written once: UPDATE refused/);
    expect(await refusal(sql`delete from installation`)).toMatch(/installation is written once: DELETE refused/);
    expect(await refusal(sql`insert into installation (singleton, id) values (true, 'bbbbbbbbbbbbbbbb')`)).toMatch(/duplicate key/);
    expect(await refusal(sql`insert into installation (singleton, id) values (false, 'bbbbbbbbbbbbbbbb')`)).toMatch(/installation_singleton_check/);
    expect(await installationId(h.t.deps.db)).toBe(mine);
  });
});

describe('two installations revoking on one role', () => {
  it("each writes only its own policy: revocations and clean-ups of one never touch the other's Deny", async () => {
    const roleName = uniqueName('Shared').replace(/[^\w+=,.@-]/g, '');
    const mine = await revocationPolicyOf(h.t);
    const theirs = await revocationPolicyOf(other);
    // A policy from before installation ids, or written by hand: no installation owns it.
    const legacy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'BrevetRevokereqlegacy', Effect: 'Deny', Action: '*', Resource: '*' }] });
    h.aws.rolePolicies.set(roleName, new Map([['BrevetRevocations', legacy]]));

    const a1 = await withCredentials(h.t, roleName);
    const a2 = await withCredentials(h.t, roleName);
    const b1 = await withCredentials(other, roleName);

    await revoke(other, b1.requester.key, b1.request.id).expect(200);
    await revoke(h.t, a1.requester.key, a1.request.id).expect(200);
    const theirsBefore = h.aws.rolePolicies.get(roleName)!.get(theirs);
    // The revocation that erased the other installation's Deny before: a rewrite from a database
    // that knows nothing of b1.
    await revoke(h.t, a2.requester.key, a2.request.id).expect(200);

    expect(policyOn(roleName, mine)).toHaveLength(2);
    expect(policyOn(roleName, mine)).toEqual(expect.arrayContaining([denyOf(a1.request.id), denyOf(a2.request.id)]));
    expect(policyOn(roleName, theirs)).toEqual([denyOf(b1.request.id)]);
    expect(h.aws.rolePolicies.get(roleName)!.get(theirs), 'not even rewritten with the same content').toBe(theirsBefore);
    expect((await requestRow(h.t, a1.request.id)).denyPolicyStatus).toBe('applied');
    const b1Row = await other.deps.db.execute(sql`select deny_policy_status from requests where id = ${b1.request.id}`);
    expect(JSON.stringify(b1Row)).toContain('applied');

    // Clean-up by this installation, once its credentials have expired: its policy goes, the other stays.
    // Every credential here lasts at most the 1800 s window.
    h.t.clock.advance(2 * 3_600_000);
    expect(await removeDenyPolicy(h.t.deps, a1.request.id)).toBe(true);
    expect(await removeDenyPolicy(h.t.deps, a2.request.id)).toBe(true);
    expect(h.aws.rolePolicies.get(roleName)!.has(mine)).toBe(false);
    expect(policyOn(roleName, theirs)).toEqual([denyOf(b1.request.id)]);

    expect(await removeDenyPolicy(other.deps, b1.request.id)).toBe(true);
    expect([...h.aws.rolePolicies.get(roleName)!.keys()]).toEqual(['BrevetRevocations']);
    expect(h.aws.rolePolicies.get(roleName)!.get('BrevetRevocations'), 'the unowned policy is left alone').toBe(legacy);

    // Not one IAM call of either installation named a policy but its own.
    const named = new Set(h.aws.iamCalls.filter((call) => call.params['RoleName'] === roleName && call.params['PolicyName'] !== undefined).map((call) => call.params['PolicyName']));
    expect([...named].sort()).toEqual([mine, theirs].sort());
  });
});
