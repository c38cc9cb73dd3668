// Issue 11: when Brevet itself cannot call AWS — no credentials, expired or unknown ones, no
// region — the answer names the cause and the fix, not "retry". The real SDK runs its real
// default chain and region resolution; the stand-in answers as AWS does (query protocol, 403
// ExpiredToken / InvalidClientTokenId). Each case uses a region of its own, so that a fresh SDK
// client resolves credentials and region under that case's environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, createProfile, expectProblem, issuancesOf, issue, openRequest, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  // Nothing of this machine's own AWS setup may answer for Brevet.
  process.env['AWS_CONFIG_FILE'] = '/nonexistent/brevet-test/config';
  process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/brevet-test/credentials';
  process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']) {
    delete process.env[name];
  }
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Runs `body` with these environment variables set (undefined: unset), then restores them. */
async function withEnv<T>(changes: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(changes).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(changes);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

async function activeRequest(region: string | undefined) {
  const profile = await createProfile(h.t, region === undefined ? {} : { region });
  const requester = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, requester.key, profile.name);
  return { requester, request };
}

/** 503 naming the cause and the fix, never "retry"; the issuance failed with the cause; then nothing else changed. */
async function expectBrevetCannotCall(response: Awaited<ReturnType<typeof issue>>, requestId: string, detail: RegExp[], recorded: RegExp) {
  expectProblem(response, 503, 'unavailable');
  for (const pattern of detail) expect(response.body.detail).toMatch(pattern);
  expect(response.body.detail).not.toMatch(/retry/i);
  const rows = await issuancesOf(h.t, requestId);
  expect(rows.map((row) => row.status)).toEqual(['failed']);
  expect(rows[0]!.error).toMatch(recorded);
  const [failed] = await auditOf(h.t, requestId, 'credentials.failed');
  expect((failed!.details as { error: string }).error).toMatch(recorded);
}

describe('Brevet cannot call AWS as itself', () => {
  it('no credentials anywhere in the default chain → 503 saying Brevet has none and where they go; no call reaches AWS', async () => {
    const { requester, request } = await activeRequest('ap-northeast-1');
    const before = h.aws.assumeRoleCalls.length;
    const response = await withEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined }, () => issue(h.t, requester.key, request.id));
    await expectBrevetCannotCall(response, request.id, [/Brevet has no AWS credentials/, /AWS_ACCESS_KEY_ID/, /instance role/], /^no-credentials: /);
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
  });

  it('expired session credentials (AWS answers 403 ExpiredToken) → 503 saying they expired and must be renewed', async () => {
    const { requester, request } = await activeRequest('ap-south-1');
    h.aws.expiredSessionTokens.add('brevet-expired-session-token');
    const response = await withEnv({ AWS_SESSION_TOKEN: 'brevet-expired-session-token' }, () => issue(h.t, requester.key, request.id));
    await expectBrevetCannotCall(
      response,
      request.id,
      [/Brevet's own AWS credentials have expired/, /ExpiredToken: The security token included in the request is expired/, /AWS_SESSION_TOKEN/],
      /^expired-credentials: ExpiredToken/,
    );
  });

  it('an access key AWS does not know (403 InvalidClientTokenId) → 503 saying the credentials are not accepted', async () => {
    const { requester, request } = await activeRequest('sa-east-1');
    h.aws.unknownAccessKeys.add('AKIDDELETEDKEY');
    const response = await withEnv({ AWS_ACCESS_KEY_ID: 'AKIDDELETEDKEY' }, () => issue(h.t, requester.key, request.id));
    await expectBrevetCannotCall(response, request.id, [/AWS does not accept Brevet's own credentials/, /InvalidClientTokenId/], /^invalid-credentials: InvalidClientTokenId/);
  });

  it('no region (none in the environment, the shared config or the profile) → 503 naming AWS_REGION; no guess, no call', async () => {
    const { requester, request } = await activeRequest(undefined);
    const before = h.aws.assumeRoleCalls.length;
    const response = await withEnv({ AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined }, () => issue(h.t, requester.key, request.id));
    await expectBrevetCannotCall(response, request.id, [/No AWS region is configured/, /AWS_REGION/, /give the profile a region/], /^no-region: Region is missing/);
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
  });

  it('with working credentials the same path issues, in the region the profile names', async () => {
    const { requester, request } = await activeRequest('eu-north-1');
    const response = await issue(h.t, requester.key, request.id, 'json');
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.region).toBe('eu-north-1');
  });
});
