// Shared harness for the credential acceptance tests: the real app and the real AWS SDK, pointed
// at local stand-ins for STS, IAM and the federation endpoint, with the app's clock driving the
// stand-in's (so Expiration = app "now" + DurationSeconds).
import { and, asc, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { AwsClientOptions } from '../../src/adapters/aws/sts.js';
import { installationId } from '../../src/credentials/repo.js';
import { revocationPolicyName } from '../../src/domain/deny-policy.js';
import { auditEvents, issuances, requests } from '../../src/db/schema.js';
import { auth, createProfile as createApiProfile, uniqueName, type CreatedProfile } from '../support/api.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in.js';
import type { TestClock } from '../support/clock.js';
import { startFederationStandIn, type FederationStandIn } from '../support/federation-stand-in.js';

export { auth };
export const ACCOUNT = '123456789012';
export const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/** Brevet's own (fake) AWS credentials, from the SDK's default chain; they must never leak either. */
export const BREVET_SECRET_KEY = 'brevet-own-secret-key-never-logged';

export interface Harness {
  t: TestApp;
  aws: AwsStandIn;
  federation: FederationStandIn;
  /** Where the app listens (listen: true), for calls fired concurrently. */
  baseUrl: string | undefined;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  aws?: AwsClientOptions;
  clock?: TestClock;
  /** Listen on loopback: supertest would otherwise start a server per call, which breaks Promise.all. */
  listen?: boolean;
  /** The Redis key prefix of the app's queue, when env has REDIS_URL. */
  queuePrefix?: string;
  /** Brevet and the STS stand-in on the system clock, as a client outside the process sees them. */
  realClock?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const aws = await startAwsStandIn();
  const federation = await startFederationStandIn();
  // The SDK's standard configuration; each test file runs in its own process (pool: forks).
  process.env['AWS_ENDPOINT_URL_STS'] = aws.url;
  process.env['AWS_ENDPOINT_URL_IAM'] = aws.url;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDBREVETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = BREVET_SECRET_KEY;
  process.env['AWS_REGION'] = 'eu-west-1';
  const t = await startTestApp({
    env: { BREVET_FEDERATION_URL: federation.url, ...options.env },
    ...(options.realClock === true ? { realClock: true } : {}),
    overrides: {
      aws: options.aws ?? { maxAttempts: 1, timeoutMs: 1000 },
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.queuePrefix ? { queuePrefix: options.queuePrefix } : {}),
    },
  });
  aws.now = options.realClock === true ? () => new Date() : () => t.clock.now();
  let baseUrl: string | undefined;
  if (options.listen === true) baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return {
    t,
    aws,
    federation,
    baseUrl,
    async close() {
      await t.close();
      await aws.close();
      await federation.close();
    },
  };
}

export { uniqueName };

/** A profile through the admin API: requesters `dev`, auto-approved, unless overridden. */
export function createProfile(t: TestApp, overrides: Record<string, unknown> = {}): Promise<CreatedProfile> {
  return createApiProfile(t, { approval: { required: 0 }, ...overrides });
}

export interface RequestBody {
  id: string;
  status: string;
  startsAt: string | null;
  endsAt: string | null;
  denyPolicyStatus: string | null;
  [field: string]: unknown;
}

export async function openRequest(
  t: TestApp,
  key: string,
  profile: string,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<RequestBody> {
  const response = await t
    .http()
    .post('/v1/requests')
    .set({ ...auth(key), ...headers })
    .send({ profile, durationSeconds: 1800, justification: 'INC-42 hotfix on the payments API', ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as RequestBody;
}

export function issue(t: TestApp, key: string, requestId: string, format: 'json' | 'credential_process' | 'env' = 'json', headers: Record<string, string> = {}) {
  return t
    .http()
    .post(`/v1/requests/${requestId}/credentials`)
    .set({ ...auth(key), ...headers })
    .send({ format });
}

export function revoke(t: TestApp, key: string, requestId: string, reason = 'done') {
  return t.http().post(`/v1/requests/${requestId}/revoke`).set(auth(key)).send({ reason });
}

export function expectProblem(response: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, type: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type, status });
}

export async function issuancesOf(t: TestApp, requestId: string) {
  return t.deps.db.select().from(issuances).where(eq(issuances.requestId, requestId)).orderBy(asc(issuances.createdAt), asc(issuances.id));
}

export async function requestRow(t: TestApp, requestId: string) {
  const [row] = await t.deps.db.select().from(requests).where(eq(requests.id, requestId));
  return row!;
}

export async function auditOf(t: TestApp, requestId: string, action?: string) {
  return t.deps.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.requestId, requestId), action === undefined ? undefined : eq(auditEvents.action, action)))
    .orderBy(asc(auditEvents.id));
}

/** The name of the revocation policy the app's installation owns on every role. */
export async function revocationPolicyOf(t: TestApp): Promise<string> {
  return revocationPolicyName(await installationId(t.deps.db));
}

/**
 * The parsed inline policy of a role on the stand-in, or undefined when there is none. Without a
 * name: the revocation policy of the one installation that wrote on the role (fails when several did).
 */
export function rolePolicy(aws: AwsStandIn, roleName: string, policyName?: string): { Version: string; Statement: Record<string, unknown>[] } | undefined {
  const policies = aws.rolePolicies.get(roleName);
  let name = policyName;
  if (name === undefined) {
    const revocations = [...(policies?.keys() ?? [])].filter((key) => key.startsWith('BrevetRevocations-'));
    expect(revocations.length, `revocation policies on ${roleName}: ${revocations.join(', ')}`).toBeLessThanOrEqual(1);
    name = revocations[0];
  }
  const text = name === undefined ? undefined : policies?.get(name);
  return text === undefined ? undefined : (JSON.parse(text) as { Version: string; Statement: Record<string, unknown>[] });
}
