// SPEC §4.4: deny-policy revocation puts a Deny statement matching only the request's sessions
// on the role's BrevetRevocations-<installation id> inline policy, keeps what others put there, survives
// concurrent revocations, and is removed by the clean-up once the last credential expired.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/audit/writer.js';
import { applyDenyPolicy, removeDenyPolicy } from '../../src/credentials/deny-policy-revocation.js';
import {
  auditOf,
  auth,
  createProfile,
  expectProblem,
  issue,
  openRequest,
  requestRow,
  revoke,
  revocationPolicyOf,
  roleArn,
  rolePolicy,
  startHarness,
  uniqueName,
  type Harness,
} from './helpers.js';

let h: Harness;
/** This installation's revocation policy, BrevetRevocations-<installation id>. */
let policyName: string;
beforeAll(async () => {
  h = await startHarness({ listen: true });
  policyName = await revocationPolicyOf(h.t);
});
afterAll(async () => {
  await h?.close();
});

const denyFor = (requestId: string) => ({
  Effect: 'Deny',
  Action: '*',
  Resource: '*',
  Condition: { StringLike: { 'aws:userid': `*:brevet-${requestId}` } },
});

/** A role of its own per test, so statements of other tests never mix in. */
async function setup(options: { revocation?: 'deny-policy' | 'block-new'; roleName?: string } = {}) {
  const roleName = options.roleName ?? uniqueName('Role').replace(/[^\w+=,.@-]/g, '');
  const profile = await createProfile(h.t, { roleArn: roleArn(roleName), revocation: options.revocation ?? 'deny-policy' });
  const requester = await h.t.principal({ groups: ['dev'] });
  return { roleName, profile, requester };
}

async function activeWithCredentials(profileName: string, key: string) {
  const request = await openRequest(h.t, key, profileName);
  const response = await issue(h.t, key, request.id, 'credential_process');
  expect(response.status).toBe(200);
  return { request, expiration: new Date(response.body.Expiration as string) };
}

/**
 * Makes lost updates certain instead of lucky: each read of the role's policy is held until all
 * `expected` revocations have reached the policy edit — reading the policy themselves, done with
 * it, or waiting for the role's advisory lock. Without the lock, all of them read the same
 * document and each writes back its own statement only; with it, they go one at a time.
 */
function holdPolicyReads(roleName: string, expected: number) {
  const store = h.t.deps.rolePolicies;
  const realGet = store.get.bind(store);
  const realPut = store.put.bind(store);
  let reading = 0;
  let done = 0;
  const state = { gaveUp: false, release: () => {} };
  store.get = async (role, policyName) => {
    const document = await realGet(role, policyName);
    if (role !== roleName) return document;
    reading += 1;
    const deadline = Date.now() + 5_000;
    while (reading + done + (await lockWaiters(roleName)) < expected) {
      if (Date.now() > deadline) {
        state.gaveUp = true;
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return document;
  };
  store.put = async (role, policyName, document) => {
    await realPut(role, policyName, document);
    if (role === roleName) {
      reading -= 1;
      done += 1;
    }
  };
  state.release = () => {
    store.get = realGet;
    store.put = realPut;
  };
  return state;
}

/** Transactions of this database waiting for the advisory lock that guards the role's inline policy. */
async function lockWaiters(roleName: string): Promise<number> {
  const result = await h.t.deps.db.execute(sql`
    select count(*)::int as n from pg_locks
    where locktype = 'advisory' and not granted and objsubid = 1
      and database = (select oid from pg_database where datname = current_database())
      and objid::text::bigint = (hashtext(${`brevet-role-policy:${roleName}`})::bigint & 4294967295)`);
  return rowsOf<{ n: number }>(result)[0]!.n;
}

describe('revoking a deny-policy request with credentials out', () => {
  it('writes a Deny of * for aws:userid like *:brevet-<id> on the role, and says so', async () => {
    const { roleName, profile, requester } = await setup();
    const { request, expiration } = await activeWithCredentials(profile.name, requester.key);

    const response = await revoke(h.t, requester.key, request.id, 'laptop stolen');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'applied', revokedReason: 'laptop stolen' });

    const policy = rolePolicy(h.aws, roleName)!;
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0]).toMatchObject(denyFor(request.id));
    expect(policy.Statement[0]!['Sid']).toMatch(/^[A-Za-z0-9]+$/);
    const put = h.aws.iamCalls.filter((call) => call.action === 'PutRolePolicy' && call.params['RoleName'] === roleName);
    expect(put).toHaveLength(1);
    expect(put[0]!.params['PolicyName']).toBe(policyName);

    const row = await requestRow(h.t, request.id);
    expect(row.denyPolicyStatus).toBe('applied');
    expect(row.revocationCleanupAt!.getTime()).toBe(expiration.getTime());
    const [applied] = await auditOf(h.t, request.id, 'revocation.deny-policy-applied');
    expect(applied!.details).toMatchObject({ roleName, policyName });

    expectProblem(await issue(h.t, requester.key, request.id), 409, 'invalid-transition');
  });

  it("keeps statements it does not own and the role's other inline policies", async () => {
    const { roleName, profile, requester } = await setup();
    const foreign = { Sid: 'SecurityTeamQuarantine', Effect: 'Deny', Action: 's3:DeleteBucket', Resource: '*' };
    const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] });
    h.aws.rolePolicies.set(
      roleName,
      new Map([
        [policyName, JSON.stringify({ Version: '2012-10-17', Statement: [foreign] })],
        ['Other', other],
      ]),
    );
    const { request } = await activeWithCredentials(profile.name, requester.key);
    // An admin may revoke too.
    expect((await revoke(h.t, h.t.adminKey, request.id)).body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'applied' });

    expect(rolePolicy(h.aws, roleName)!.Statement).toEqual([foreign, expect.objectContaining(denyFor(request.id))]);
    expect(h.aws.rolePolicies.get(roleName)!.get('Other')).toBe(other);
  });

  it('a second revocation on the same role adds a second statement', async () => {
    const { roleName, profile, requester } = await setup();
    const first = await activeWithCredentials(profile.name, requester.key);
    const second = await activeWithCredentials(profile.name, requester.key);
    await revoke(h.t, requester.key, first.request.id).expect(200);
    await revoke(h.t, requester.key, second.request.id).expect(200);
    const statements = rolePolicy(h.aws, roleName)!.Statement;
    expect(statements).toHaveLength(2);
    // Brevet's statements are kept sorted by request id, whatever the order of revocation.
    expect(statements).toEqual(
      expect.arrayContaining([expect.objectContaining(denyFor(first.request.id)), expect.objectContaining(denyFor(second.request.id))]),
    );
  });

  it('five concurrent revocations on one role all end up in the policy (no lost update)', async () => {
    const { roleName, profile, requester } = await setup();
    const requests = [];
    for (let i = 0; i < 5; i++) requests.push((await activeWithCredentials(profile.name, requester.key)).request);

    const barrier = holdPolicyReads(roleName, requests.length);
    const responses = await Promise.all(
      requests.map((request) =>
        fetch(`${h.baseUrl}/v1/requests/${request.id}/revoke`, {
          method: 'POST',
          headers: { ...auth(requester.key), 'content-type': 'application/json' },
          body: JSON.stringify({ reason: 'incident' }),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { denyPolicyStatus: string } })),
      ),
    );
    barrier.release();
    expect(barrier.gaveUp, 'every revocation reached the policy edit').toBe(false);
    for (const response of responses) expect(response).toMatchObject({ status: 200, body: { denyPolicyStatus: 'applied' } });
    const statements = rolePolicy(h.aws, roleName)!.Statement;
    expect(statements).toHaveLength(5);
    expect(statements).toEqual(expect.arrayContaining(requests.map((request) => expect.objectContaining(denyFor(request.id)))));
  });
});

describe('many revocations on one role', () => {
  it('stay within IAM’s 10,240 characters for a role’s inline policies: 100 revoked requests, every session denied', async () => {
    const { roleName, profile, requester } = await setup();
    const revoked: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { request } = await activeWithCredentials(profile.name, requester.key);
      // A statement each would pass IAM's limit at about the 60th (the stand-in answers LimitExceeded, as IAM does).
      const response = await revoke(h.t, requester.key, request.id).expect(200);
      expect(response.body.denyPolicyStatus).toBe('applied');
      revoked.push(request.id);
    }
    const statements = rolePolicy(h.aws, roleName)!.Statement;
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': expect.any(Array) } } }),
    ]);
    const patterns = (statements[0]!['Condition'] as { StringLike: { 'aws:userid': string[] } }).StringLike['aws:userid'];
    expect([...patterns].sort()).toEqual(revoked.map((id) => `*:brevet-${id}`).sort());
    expect(JSON.stringify(rolePolicy(h.aws, roleName)).length).toBeLessThanOrEqual(10_240);
    expect(await auditOf(h.t, revoked[99]!, 'revocation.deny-policy-applied')).toMatchObject([{ details: { sid: 'BrevetRevokeMany' } }]);
  });
});

describe('a role whose other inline policies leave little room', () => {
  it('gets the revocations merged into one statement when IAM refuses a statement each (LimitExceeded)', async () => {
    const { roleName, profile, requester } = await setup();
    // 9,500 of IAM's 10,240 characters taken by a policy Brevet does not own.
    const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(9_420)}` }] });
    expect(other.length).toBeGreaterThan(9_450);
    h.aws.rolePolicies.set(roleName, new Map([['Other', other]]));
    const revoked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { request } = await activeWithCredentials(profile.name, requester.key);
      expect((await revoke(h.t, requester.key, request.id).expect(200)).body.denyPolicyStatus).toBe('applied');
      revoked.push(request.id);
    }
    const statements = rolePolicy(h.aws, roleName)!.Statement;
    expect(statements).toHaveLength(1);
    expect([...(statements[0]!['Condition'] as { StringLike: { 'aws:userid': string[] } }).StringLike['aws:userid']].sort()).toEqual(revoked.map((id) => `*:brevet-${id}`).sort());
    expect(h.aws.rolePolicies.get(roleName)!.get('Other')).toBe(other);
  });
});

/** Whether IAM would apply this Deny to a session: StringLike (`*` wildcards) on aws:userid, DateLessThan on aws:TokenIssueTime. */
function denies(statement: Record<string, unknown>, session: { requestId: string; issuedAt: Date }): boolean {
  const condition = statement['Condition'] as { StringLike?: Record<string, string | string[]>; DateLessThan?: Record<string, string> };
  const userid = `AROAEXAMPLEROLEID:brevet-${session.requestId}`;
  const like = (pattern: string) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(userid);
  const patterns = [condition.StringLike?.['aws:userid'] ?? []].flat();
  const before = condition.DateLessThan?.['aws:TokenIssueTime'];
  return statement['Effect'] === 'Deny' && patterns.some(like) && (before === undefined || session.issuedAt < new Date(before));
}

describe('a role with no room left even for the merged statement', () => {
  it('a revocation then denies every Brevet session on the role issued until then (fails closed), and only those', async () => {
    const { roleName, profile, requester } = await setup();
    // 9,700 of IAM's 10,240 characters taken by a policy Brevet does not own: a few revocations fill the rest.
    const other = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(9_620)}` }] });
    h.aws.rolePolicies.set(roleName, new Map([['Other', other]]));
    const bystander = await activeWithCredentials(profile.name, requester.key);
    const bystanderIssuedAt = h.t.clock.now();
    const revoked: { requestId: string; issuedAt: Date }[] = [];
    let sweeping: string | undefined;
    for (let i = 0; i < 30 && sweeping === undefined; i++) {
      h.t.clock.advance(1_000);
      const { request } = await activeWithCredentials(profile.name, requester.key);
      revoked.push({ requestId: request.id, issuedAt: h.t.clock.now() });
      h.t.clock.advance(500);
      expect((await revoke(h.t, requester.key, request.id).expect(200)).body.denyPolicyStatus).toBe('applied');
      if (rolePolicy(h.aws, roleName)!.Statement.some((s) => s['Sid'] === 'BrevetRevokeIssuedBefore')) sweeping = request.id;
    }
    expect(sweeping, 'the merged statement stopped fitting').toBeDefined();
    expect(revoked.length).toBeGreaterThan(3);

    const revokedAt = h.t.clock.now();
    const [sweep] = rolePolicy(h.aws, roleName)!.Statement;
    expect(rolePolicy(h.aws, roleName)!.Statement).toHaveLength(1);
    expect(sweep).toEqual({
      Sid: 'BrevetRevokeIssuedBefore',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { StringLike: { 'aws:userid': '*:brevet-*' }, DateLessThan: { 'aws:TokenIssueTime': new Date(Math.ceil((revokedAt.getTime() + 2_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z') } },
    });
    // Every revoked request's session is denied; so is the session of a request still active on
    // the role (its holder asks again); a session issued afterwards is not, nor anyone else's.
    for (const session of revoked) expect(denies(sweep!, session), session.requestId).toBe(true);
    expect(denies(sweep!, { requestId: bystander.request.id, issuedAt: bystanderIssuedAt })).toBe(true);
    expect(denies(sweep!, { requestId: bystander.request.id, issuedAt: new Date(revokedAt.getTime() + 3_000) })).toBe(false);
    expect(h.aws.rolePolicies.get(roleName)!.get('Other')).toBe(other);

    const row = await requestRow(h.t, sweeping!);
    expect(row.denySweptBefore?.toISOString()).toBe(new Date(Math.ceil((revokedAt.getTime() + 2_000) / 1000) * 1000).toISOString());
    expect(row.revocationCleanupAt!.getTime()).toBe(row.denySweptBefore!.getTime() + 43_200_000);
    expect(await auditOf(h.t, sweeping!, 'revocation.deny-policy-applied')).toMatchObject([
      {
        details: {
          sid: 'BrevetRevokeIssuedBefore',
          sessionsIssuedBefore: row.denySweptBefore!.toISOString(),
          activeRequestsAlsoDenied: [bystander.request.id],
          reason: expect.stringMatching(/LimitExceeded/),
        },
      },
    ]);

    // A later revocation, of a session issued after the sweep's moment, gets its own Deny beside it.
    h.t.clock.advance(60_000);
    const later = await activeWithCredentials(profile.name, requester.key);
    expect((await revoke(h.t, requester.key, later.request.id).expect(200)).body.denyPolicyStatus).toBe('applied');
    expect(rolePolicy(h.aws, roleName)!.Statement).toEqual([sweep, expect.objectContaining(denyFor(later.request.id))]);

    // The sweep stays until every session it denies has expired (12 h, STS's longest), then goes.
    for (const { requestId } of revoked) {
      const due = (await requestRow(h.t, requestId)).revocationCleanupAt!;
      if (due > h.t.clock.now()) h.t.clock.set(due);
      expect(await removeDenyPolicy(h.t.deps, requestId), requestId).toBe(true);
      const still = rolePolicy(h.aws, roleName)!.Statement;
      expect(still.some((s) => s['Sid'] === 'BrevetRevokeIssuedBefore')).toBe(requestId !== sweeping);
    }
    expect(rolePolicy(h.aws, roleName)!.Statement).toEqual([expect.objectContaining(denyFor(later.request.id))]);
    expect(await auditOf(h.t, sweeping!, 'revocation.deny-policy-removed')).toMatchObject([{ details: { sid: 'BrevetRevokeIssuedBefore' } }]);
    expect(await auditOf(h.t, revoked[0]!.requestId, 'revocation.deny-policy-removed')).toMatchObject([{ details: { sid: 'BrevetRevokeIssuedBefore' } }]);
  });
});

describe('revocations that need no deny policy', () => {
  it('block-new writes no IAM policy', async () => {
    const { roleName, profile, requester } = await setup({ revocation: 'block-new' });
    const { request } = await activeWithCredentials(profile.name, requester.key);
    const before = h.aws.iamCalls.length;
    expect((await revoke(h.t, requester.key, request.id)).body).toMatchObject({ status: 'revoked', denyPolicyStatus: null });
    expect(h.aws.iamCalls).toHaveLength(before);
    expect(h.aws.rolePolicies.get(roleName)).toBeUndefined();
    expectProblem(await issue(h.t, requester.key, request.id), 409, 'invalid-transition');
  });

  it('deny-policy with no credential ever issued, or only failed attempts, writes none', async () => {
    const { roleName, profile, requester } = await setup();
    const untouched = await openRequest(h.t, requester.key, profile.name);
    const failed = await openRequest(h.t, requester.key, profile.name);
    h.aws.failNextAssumeRole({ kind: 'error', code: 'AccessDenied', message: 'no', status: 403 });
    expect((await issue(h.t, requester.key, failed.id)).status).toBe(502);
    const before = h.aws.iamCalls.length;
    for (const request of [untouched, failed]) {
      expect((await revoke(h.t, requester.key, request.id)).body).toMatchObject({ status: 'revoked', denyPolicyStatus: null });
    }
    expect(h.aws.iamCalls).toHaveLength(before);
    expect(h.aws.rolePolicies.get(roleName)).toBeUndefined();
  });

  it('deny-policy after the last credential expired writes none', async () => {
    const { roleName, profile, requester } = await setup();
    const request = await openRequest(h.t, requester.key, profile.name, { durationSeconds: 3600 });
    h.t.clock.advance(1_800_000);
    const response = await issue(h.t, requester.key, request.id, 'credential_process');
    expect(response.status).toBe(200);
    h.t.clock.set(new Date(new Date(response.body.Expiration as string).getTime() + 1000));
    // The window (3600 s) is still open but the only credential (1800 s) has expired.
    const revoked = await revoke(h.t, requester.key, request.id);
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', denyPolicyStatus: null });
    expect(h.aws.rolePolicies.get(roleName)).toBeUndefined();
  });
});

describe('when IAM fails', () => {
  it('the request is still revoked, the deny policy stays pending, the failure is audited; a retry applies it', async () => {
    const { roleName, profile, requester } = await setup();
    const { request } = await activeWithCredentials(profile.name, requester.key);
    h.aws.failNextIam({ kind: 'error', code: 'AccessDenied', message: 'not authorized to perform: iam:GetRolePolicy', status: 403 });

    const response = await revoke(h.t, requester.key, request.id);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'pending' });
    expect(rolePolicy(h.aws, roleName)).toBeUndefined();
    const [failure] = await auditOf(h.t, request.id, 'revocation.deny-policy-failed');
    expect((failure!.details as { error: string }).error).toMatch(/AccessDenied|iam:GetRolePolicy/);
    expectProblem(await issue(h.t, requester.key, request.id), 409, 'invalid-transition');

    // What the reconciler does with a pending deny policy.
    expect(await applyDenyPolicy(h.t.deps, request.id)).toBe(true);
    expect((await requestRow(h.t, request.id)).denyPolicyStatus).toBe('applied');
    expect(rolePolicy(h.aws, roleName)!.Statement).toEqual([expect.objectContaining(denyFor(request.id))]);
    expect(await applyDenyPolicy(h.t.deps, request.id), 'idempotent').toBe(false);
  });
});

describe('an IAM that knows only the policy writes (a partial emulator)', () => {
  it('still gets the statement: GetRole and GetRolePolicy answered InvalidAction neither stop nor stall the revocation', async () => {
    const { roleName, profile, requester } = await setup();
    const { request } = await activeWithCredentials(profile.name, requester.key);
    h.aws.failNextIam({ kind: 'error', code: 'InvalidAction', message: 'Could not find operation GetRole for version 2010-05-08', status: 400 });
    h.aws.failNextIam({ kind: 'error', code: 'InvalidAction', message: 'Could not find operation GetRolePolicy for version 2010-05-08', status: 400 });
    const response = await revoke(h.t, requester.key, request.id);
    expect(response.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'applied' });
    expect(rolePolicy(h.aws, roleName)!.Statement).toEqual([expect.objectContaining(denyFor(request.id))]);
  });
});

describe('clean-up (removeDenyPolicy)', () => {
  it('waits for revocationCleanupAt, then removes only its statement; the last one takes the policy with it', async () => {
    const { roleName, profile, requester } = await setup();
    const foreign = { Sid: 'KeepMe', Effect: 'Deny', Action: 'iam:*', Resource: '*' };
    h.aws.rolePolicies.set(roleName, new Map([[policyName, JSON.stringify({ Version: '2012-10-17', Statement: [foreign] })]]));
    const first = await activeWithCredentials(profile.name, requester.key);
    const second = await activeWithCredentials(profile.name, requester.key);
    await revoke(h.t, requester.key, first.request.id).expect(200);
    await revoke(h.t, requester.key, second.request.id).expect(200);
    expect(rolePolicy(h.aws, roleName)!.Statement).toHaveLength(3);

    const cleanupAt = (await requestRow(h.t, first.request.id)).revocationCleanupAt!;
    expect(cleanupAt.getTime()).toBe(first.expiration.getTime());
    h.t.clock.set(new Date(cleanupAt.getTime() - 1000));
    expect(await removeDenyPolicy(h.t.deps, first.request.id), 'not due yet').toBe(false);
    expect(rolePolicy(h.aws, roleName)!.Statement).toHaveLength(3);

    h.t.clock.set(new Date(Math.max(cleanupAt.getTime(), second.expiration.getTime()) + 1000));
    expect(await removeDenyPolicy(h.t.deps, first.request.id)).toBe(true);
    expect(rolePolicy(h.aws, roleName)!.Statement).toEqual([foreign, expect.objectContaining(denyFor(second.request.id))]);
    expect((await requestRow(h.t, first.request.id)).denyPolicyStatus).toBe('removed');
    expect(await auditOf(h.t, first.request.id, 'revocation.deny-policy-removed')).toHaveLength(1);
    expect(await removeDenyPolicy(h.t.deps, first.request.id), 'idempotent').toBe(false);

    // Without the foreign statement, the last removal deletes the policy itself.
    h.aws.rolePolicies.get(roleName)!.set(
      policyName,
      JSON.stringify({ Version: '2012-10-17', Statement: rolePolicy(h.aws, roleName)!.Statement.filter((s) => s['Sid'] !== 'KeepMe') }),
    );
    expect(await removeDenyPolicy(h.t.deps, second.request.id)).toBe(true);
    expect(h.aws.rolePolicies.get(roleName)!.has(policyName)).toBe(false);
    expect(h.aws.iamCalls.at(-1)).toMatchObject({ action: 'DeleteRolePolicy', params: { RoleName: roleName, PolicyName: policyName } });
  });
});

describe('an IAM read that lags a write (IAM is eventually consistent)', () => {
  it("cannot make a later revocation drop an earlier one's Deny", async () => {
    const roleName = `Stale${Date.now()}`;
    const profile = await createProfile(h.t, { roleArn: roleArn(roleName), revocation: 'deny-policy' });
    const requester = await h.t.principal({ groups: ['dev'] });
    const first = await openRequest(h.t, requester.key, profile.name);
    const second = await openRequest(h.t, requester.key, profile.name);
    await issue(h.t, requester.key, first.id).expect(200);
    await issue(h.t, requester.key, second.id).expect(200);
    await revoke(h.t, requester.key, first.id).expect(200);
    // IAM answers the document as it was before the first write.
    h.aws.rolePolicies.delete(roleName);
    await revoke(h.t, requester.key, second.id).expect(200);
    const sids = rolePolicy(h.aws, roleName)!.Statement.map((s) => s['Sid']);
    expect(sids).toHaveLength(2);
  });
});
