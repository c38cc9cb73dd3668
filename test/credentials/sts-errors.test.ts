// SPEC §4.1: STS errors become problems that say what to fix; throttling is retried with backoff
// then answered 503; a silent or absent endpoint is cut by the hard timeout. Whatever happens,
// the issuance written before the call is completed as `failed`, never left `pending`.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StsFault } from '../support/aws-stand-in.js';
import { auditOf, createProfile, expectProblem, issuancesOf, issue, openRequest, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ aws: { maxAttempts: 2, timeoutMs: 500 } });
});
afterAll(async () => {
  await h?.close();
});

const stsError = (code: string, message: string, status = 400): StsFault => ({ kind: 'error', code, message, status });

async function activeRequest(overrides: Record<string, unknown> = {}) {
  const profile = await createProfile(h.t, overrides);
  const requester = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, requester.key, profile.name);
  return { requester, request };
}

/** The failed call left a `failed` issuance and a credentials.failed event; the next call works. */
async function expectFailureRecordedThenRecovery(requesterKey: string, requestId: string, errorPattern: RegExp): Promise<void> {
  const rows = await issuancesOf(h.t, requestId);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ status: 'failed', accessKeyId: null });
  expect(rows[0]!.completedAt).not.toBeNull();
  expect(rows[0]!.error).toMatch(errorPattern);
  const [failed] = await auditOf(h.t, requestId, 'credentials.failed');
  expect(failed!.details).toMatchObject({ issuanceId: rows[0]!.id });
  expect((failed!.details as { error: string }).error).toMatch(errorPattern);

  const later = await issue(h.t, requesterKey, requestId, 'credential_process');
  expect(later.status, JSON.stringify(later.body)).toBe(200);
  expect((await issuancesOf(h.t, requestId)).map((row) => row.status).sort()).toEqual(['failed', 'issued']);
}

describe('STS refuses', () => {
  it('AccessDenied → 502 upstream-sts naming the trust policy and sts:AssumeRole; not retried', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole(stsError('AccessDenied', 'User: arn:aws:iam::123456789012:user/brevet is not authorized to perform: sts:AssumeRole', 403));
    const before = h.aws.assumeRoleCalls.length;
    const response = await issue(h.t, requester.key, request.id);
    expectProblem(response, 502, 'upstream-sts');
    expect(response.body.detail).toMatch(/trust policy/);
    expect(response.body.detail).toContain('sts:AssumeRole');
    expect(response.body.detail).toContain('sts:SetSourceIdentity');
    expect(response.body.detail).toContain('sts:TagSession');
    expect(h.aws.assumeRoleCalls).toHaveLength(before + 1);
    await expectFailureRecordedThenRecovery(requester.key, request.id, /access-denied/);
  });

  it('MalformedPolicyDocument → 502 upstream-sts naming the sessionPolicy', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole(stsError('MalformedPolicyDocument', 'The policy is not in the valid JSON format.'));
    const response = await issue(h.t, requester.key, request.id);
    expectProblem(response, 502, 'upstream-sts');
    expect(response.body.detail).toContain('sessionPolicy');
    await expectFailureRecordedThenRecovery(requester.key, request.id, /malformed-policy/);
  });

  it('PackedPolicyTooLarge → 502 upstream-sts naming the sessionPolicy and sessionTags', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole(stsError('PackedPolicyTooLarge', 'Packed size of the policy and tags exceeds 100%.'));
    const response = await issue(h.t, requester.key, request.id);
    expectProblem(response, 502, 'upstream-sts');
    expect(response.body.detail).toMatch(/sessionPolicy.*sessionTags/);
    await expectFailureRecordedThenRecovery(requester.key, request.id, /policy-too-large/);
  });

  it('RegionDisabledException → 502 upstream-sts naming the region', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole(stsError('RegionDisabledException', 'STS is not activated in this region.', 403));
    const response = await issue(h.t, requester.key, request.id);
    expectProblem(response, 502, 'upstream-sts');
    expect(response.body.detail).toMatch(/region/);
    await expectFailureRecordedThenRecovery(requester.key, request.id, /region-disabled/);
  });
});

describe('STS is throttling or unavailable', () => {
  it('one Throttling answer is retried with backoff and the caller gets credentials', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole(stsError('Throttling', 'Rate exceeded'));
    const before = h.aws.assumeRoleCalls.length;
    expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
    expect(h.aws.assumeRoleCalls).toHaveLength(before + 2);
    expect((await issuancesOf(h.t, request.id)).map((row) => row.status)).toEqual(['issued']);
  });

  it('Throttling on every attempt → 503 unavailable', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole(stsError('Throttling', 'Rate exceeded'), stsError('Throttling', 'Rate exceeded'));
    const before = h.aws.assumeRoleCalls.length;
    const response = await issue(h.t, requester.key, request.id);
    expectProblem(response, 503, 'unavailable');
    expect(h.aws.assumeRoleCalls).toHaveLength(before + 2);
    await expectFailureRecordedThenRecovery(requester.key, request.id, /throttled/);
  });

  it('bare HTTP 500s on every attempt → 503 unavailable', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole({ kind: 'http-500' }, { kind: 'http-500' });
    expectProblem(await issue(h.t, requester.key, request.id), 503, 'unavailable');
    await expectFailureRecordedThenRecovery(requester.key, request.id, /unavailable/);
  });

  it('an endpoint that accepts the call and never answers is cut by the timeout → 503 unavailable', async () => {
    const { requester, request } = await activeRequest();
    h.aws.failNextAssumeRole({ kind: 'hang' }, { kind: 'hang' });
    const started = Date.now();
    expectProblem(await issue(h.t, requester.key, request.id), 503, 'unavailable');
    // Two attempts of 500 ms and a backoff; far below the SDK's default of no limit at all.
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectFailureRecordedThenRecovery(requester.key, request.id, /unavailable/);
  });
});

describe('an STS endpoint nobody listens on', () => {
  let forwarder: Server | undefined;
  const sockets = new Set<Socket>();
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
  });

  it('→ 503 unavailable, the issuance failed; once the endpoint is back, issuance works', async () => {
    // A port that was free a moment ago and that nothing listens on now.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    // The SDK reads AWS_ENDPOINT_URL_STS when a client makes its first call; a profile in a
    // region of its own gets a client of its own, pointed at the dead port.
    const { requester, request } = await activeRequest({ region: 'eu-central-1' });
    const saved = process.env['AWS_ENDPOINT_URL_STS'];
    process.env['AWS_ENDPOINT_URL_STS'] = `http://127.0.0.1:${port}`;
    let response;
    try {
      response = await issue(h.t, requester.key, request.id);
    } finally {
      process.env['AWS_ENDPOINT_URL_STS'] = saved;
    }
    expectProblem(response, 503, 'unavailable');
    expect(response.body.detail).not.toContain(String(port));

    // The endpoint comes back: a TCP forwarder to the stand-in on the very same port.
    const upstream = new URL(h.aws.url);
    forwarder = createServer((client) => {
      const server = connect(Number(upstream.port), upstream.hostname);
      for (const socket of [client, server]) {
        sockets.add(socket);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(server).pipe(client);
    });
    await new Promise<void>((resolve) => forwarder!.listen(port, '127.0.0.1', resolve));
    await expectFailureRecordedThenRecovery(requester.key, request.id, /unavailable/);
    expect(h.aws.assumeRoleCalls.at(-1)!.roleSessionName).toBe(`brevet-${request.id}`);
  });
});
