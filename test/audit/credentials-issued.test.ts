// SPEC §1 (Issuance), §3 rule 5, §6: each issuance is one credentials.issued event carrying the
// metadata an auditor needs to follow the session into CloudTrail — access key id, session
// name, source identity, expiration — and never the secret or the session token.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in.js';
import type { TestApp } from '../support/app.js';
import { auditPage, auth, createProfile, openRequest, startAuditApp, trailFromDatabase, verify, type Principal } from './helpers.js';

let t: TestApp;
let aws: AwsStandIn;
let alice: Principal;

beforeAll(async () => {
  aws = await startAwsStandIn();
  process.env['AWS_ENDPOINT_URL_STS'] = aws.url;
  process.env['AWS_ENDPOINT_URL_IAM'] = aws.url;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDBREVETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'brevet-test-secret';
  process.env['AWS_REGION'] = 'eu-west-1';
  t = await startAuditApp({ overrides: { aws: { maxAttempts: 1, timeoutMs: 1000 } } });
  aws.now = () => t.clock.now();
  alice = await t.principal({ email: 'Alice.Issued@example.com', groups: ['dev'] });
});
afterAll(async () => {
  await t?.close();
  await aws?.close();
});

it.each(['json', 'credential_process', 'env'] as const)('records a %s issuance with what identifies the session, and no secret', async (format) => {
  const profile = await createProfile(t, { approval: { required: 0 } });
  const request = await openRequest(t, alice.key, profile.id);
  expect(request.status).toBe('active');
  const issued = await t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(alice.key)).send({ format });
  expect(issued.status, issued.text).toBe(200);
  const credentials = aws.issued.at(-1)!;
  const call = aws.assumeRoleCalls.at(-1)!;

  const { items } = await auditPage(t, alice.key, { requestId: request.id, action: 'credentials.issued' });
  expect(items).toHaveLength(1);
  const event = items[0]!;
  expect(event).toMatchObject({ actor: { id: alice.id, kind: 'person' }, requestId: request.id, profileId: profile.id });
  expect(event.details).toMatchObject({
    accessKeyId: credentials.accessKeyId,
    sessionName: `brevet-${request.id}`,
    sourceIdentity: call.sourceIdentity,
    expiration: credentials.expiration.toISOString(),
    format,
  });
  expect(call.roleSessionName).toBe(`brevet-${request.id}`);
  expect(call.sourceIdentity).toMatch(/^[\w+=,.@-]{2,64}$/);
  expect(String(call.sourceIdentity).toLowerCase()).toContain('alice.issued');

  // Secrets reach neither this event nor any other.
  const everything = JSON.stringify(await trailFromDatabase(t));
  for (const credential of aws.issued) {
    expect(everything).not.toContain(credential.secretAccessKey);
    expect(everything).not.toContain(credential.sessionToken);
  }
  expect(everything).not.toContain(alice.key);
  expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, firstBrokenId: null });
});
