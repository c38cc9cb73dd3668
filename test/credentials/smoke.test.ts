import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { revocationPolicyOf } from './helpers.js';
import { STS_CALL_ALLOWANCE_SECONDS } from '../../src/domain/session-duration.js';

let t: TestApp;
let aws: AwsStandIn;
beforeAll(async () => {
  aws = await startAwsStandIn();
  process.env['AWS_ENDPOINT_URL_STS'] = aws.url;
  process.env['AWS_ENDPOINT_URL_IAM'] = aws.url;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDBREVETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'brevet-test-secret';
  process.env['AWS_REGION'] = 'eu-west-1';
  t = await startTestApp({ overrides: { aws: { maxAttempts: 1, timeoutMs: 1000 } } });
  aws.now = () => t.clock.now();
});
afterAll(async () => {
  await t?.close();
  await aws?.close();
});
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

it('issues credentials and revokes with a deny policy', async () => {
  await t.http().post('/v1/profiles').set(auth(t.adminKey)).send({
    name: 'p1', roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'] },
    approval: { required: 0 }, revocation: 'deny-policy', sessionTags: { team: 'payments' },
  }).expect(201);
  const alice = await t.principal({ groups: ['dev'] });
  const r = await t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: 'p1', durationSeconds: 1800, justification: 'x' }).expect(201);
  expect(r.body.status).toBe('active');
  const c = await t.http().post(`/v1/requests/${r.body.id}/credentials`).set(auth(alice.key)).send({ format: 'credential_process' }).expect(200);
  expect(c.body.Version).toBe(1);
  expect(c.headers['cache-control']).toBe('no-store');
  expect(aws.assumeRoleCalls[0]).toMatchObject({ roleSessionName: `brevet-${r.body.id}`, durationSeconds: 1800 - STS_CALL_ALLOWANCE_SECONDS });
  t.clock.advance(600_000);
  const rv = await t.http().post(`/v1/requests/${r.body.id}/revoke`).set(auth(alice.key)).send({ reason: 'done' }).expect(200);
  // The window ends now (SPEC §4.4): its end is the moment of the revocation, here and in the trail.
  expect(rv.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'applied', startsAt: r.body.startsAt, endsAt: t.clock.now().toISOString() });
  expect((await t.http().get(`/v1/requests/${r.body.id}`).set(auth(alice.key)).expect(200)).body.endsAt).toBe(t.clock.now().toISOString());
  const trail = await t.http().get(`/v1/audit?requestId=${r.body.id}&action=request.revoked`).set(auth(t.adminKey)).expect(200);
  expect(trail.body.items[0].details).toEqual({ reason: 'done', endsAt: t.clock.now().toISOString() });
  await t.http().post(`/v1/requests/${r.body.id}/credentials`).set(auth(alice.key)).send({ format: 'json' }).expect(409);
  const doc = JSON.parse(aws.rolePolicies.get('Admin')!.get(await revocationPolicyOf(t))!);
  expect(doc.Statement[0].Condition.StringLike['aws:userid']).toBe(`*:brevet-${r.body.id}`);
});
