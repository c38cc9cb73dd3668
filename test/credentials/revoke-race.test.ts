// SPEC §3 rule 4 and §4.4 under concurrency: a credentials call and a revocation of the same
// request, fired together, many times. Whatever the interleaving, credentials are never handed
// out for a request whose revocation committed first, and every credential STS minted for a
// revoked deny-policy request is covered by the Deny statement until it expires.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditOf, auth, createProfile, issuancesOf, openRequest, requestRow, roleArn, rolePolicy, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ listen: true });
});
afterAll(async () => {
  await h?.close();
});

const ROUNDS = 25;

function post(path: string, key: string, body: unknown) {
  return fetch(`${h.baseUrl}${path}`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> }));
}

it('credentials racing a revocation: either handed out before the revocation committed, or withheld', async () => {
  const roleName = `RaceRole${Date.now()}`;
  const profile = await createProfile(h.t, { roleArn: roleArn(roleName), revocation: 'deny-policy' });
  const requester = await h.t.principal({ groups: ['dev'] });
  const outcomes = { issuedBeforeRevoke: 0, withheldAfterStsCall: 0, refusedBeforeSts: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const request = await openRequest(h.t, requester.key, profile.name);
    const [credentials, revoked] = await Promise.all([
      post(`/v1/requests/${request.id}/credentials`, requester.key, { format: 'credential_process' }),
      post(`/v1/requests/${request.id}/revoke`, requester.key, { reason: `race ${round}` }),
    ]);
    const context = `round ${round}: credentials ${credentials.status} ${JSON.stringify(credentials.body)}`;
    expect(revoked.status, context).toBe(200);
    expect(revoked.body['status']).toBe('revoked');

    const events = await auditOf(h.t, request.id);
    const revokedAt = events.find((event) => event.action === 'request.revoked')!.id;
    const issuedEvents = events.filter((event) => event.action === 'credentials.issued');
    const rows = await issuancesOf(h.t, request.id);
    const row = await requestRow(h.t, request.id);
    const stsCalled = h.aws.assumeRoleCalls.some((call) => call.roleSessionName === `brevet-${request.id}`);

    if (credentials.status === 200) {
      outcomes.issuedBeforeRevoke += 1;
      // Handed out: its issuance committed before the revocation did (audit ids are commit order).
      expect(issuedEvents, context).toHaveLength(1);
      expect(issuedEvents[0]!.id < revokedAt, context).toBe(true);
      expect(issuedEvents[0]!.details).not.toHaveProperty('withheld');
      expect(issuedEvents[0]!.details).toMatchObject({ accessKeyId: credentials.body['AccessKeyId'] });
    } else {
      expect(credentials.status, context).toBe(409);
      expect(credentials.body['type']).toBe('invalid-transition');
      expect(JSON.stringify(credentials.body)).not.toMatch(/SecretAccessKey|SessionToken/);
      if (stsCalled) {
        outcomes.withheldAfterStsCall += 1;
        // STS answered after the revocation committed: recorded, audited as withheld, not handed out.
        expect(rows.map((r) => r.status), context).toEqual(['issued']);
        expect(issuedEvents, context).toHaveLength(1);
        expect(issuedEvents[0]!.id > revokedAt, context).toBe(true);
        expect(issuedEvents[0]!.details).toMatchObject({ withheld: true, accessKeyId: rows[0]!.accessKeyId });
      } else {
        outcomes.refusedBeforeSts += 1;
        expect(rows, context).toEqual([]);
        expect(issuedEvents, context).toEqual([]);
        const refused = events.filter((event) => event.action === 'credentials.refused');
        expect(refused, context).toHaveLength(1);
        expect(refused[0]!.id > revokedAt, context).toBe(true);
      }
    }

    // Whatever STS minted for this request is killed by the Deny statement until it expires.
    const minted = rows.filter((r) => r.status === 'issued');
    if (minted.length > 0) {
      expect(row.denyPolicyStatus, context).toBe('applied');
      for (const credential of minted) expect(row.revocationCleanupAt!.getTime(), context).toBeGreaterThanOrEqual(credential.expiresAt!.getTime());
      const statements = rolePolicy(h.aws, roleName)!.Statement;
      expect(statements.some((s) => JSON.stringify(s).includes(`*:brevet-${request.id}`)), context).toBe(true);
    } else {
      expect(row.denyPolicyStatus, context).toBeNull();
    }
    expect(rows.every((r) => r.status !== 'pending'), context).toBe(true);
  }

  expect(outcomes.issuedBeforeRevoke + outcomes.withheldAfterStsCall + outcomes.refusedBeforeSts).toBe(ROUNDS);
});
