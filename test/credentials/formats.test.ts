// SPEC §4.2 and §4.3: the three credential formats, the console sign-in URL, and rule 4's
// "Expiration is never later than endsAt" seen from the client's side.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STS_CALL_ALLOWANCE_SECONDS } from '../../src/domain/session-duration.js';
import { auditOf, auth, createProfile, expectProblem, issuancesOf, issue, openRequest, startHarness, type Harness } from './helpers.js';

const run = promisify(execFile);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** ISO-8601 with a time zone, as the AWS CLI parses Expiration. */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

async function activeRequest(overrides: Record<string, unknown> = {}) {
  const profile = await createProfile(h.t, overrides);
  const requester = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, requester.key, profile.name);
  return { requester, request };
}

describe('credential formats', () => {
  it('credential_process is exactly the AWS CLI schema: Version 1 and four credential keys', async () => {
    const { requester, request } = await activeRequest();
    const response = await issue(h.t, requester.key, request.id, 'credential_process');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cache-control']).toBe('no-store');

    const issued = h.aws.issued.at(-1)!;
    expect(Object.keys(response.body).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version']);
    expect(response.body.Version).toBe(1);
    expect(response.body).toMatchObject({ AccessKeyId: issued.accessKeyId, SecretAccessKey: issued.secretAccessKey, SessionToken: issued.sessionToken });
    expect(response.body.Expiration).toMatch(ISO_WITH_ZONE);
    expect(new Date(response.body.Expiration).getTime()).toBe(issued.expiration.getTime());
  });

  it('json has accessKeyId, secretAccessKey, sessionToken, expiration and region', async () => {
    const { requester, request } = await activeRequest();
    const response = await issue(h.t, requester.key, request.id, 'json');
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const issued = h.aws.issued.at(-1)!;
    expect(response.body).toEqual({
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: issued.expiration.toISOString(),
      region: 'eu-west-1',
    });
  });

  it("json reports the profile's region when it names one", async () => {
    const { requester, request } = await activeRequest({ region: 'ap-southeast-2' });
    const response = await issue(h.t, requester.key, request.id, 'json');
    expect(response.status).toBe(200);
    expect(response.body.region).toBe('ap-southeast-2');
  });

  it('json is the default when the body names no format; an unknown format is a 400 and calls no STS', async () => {
    const { requester, request } = await activeRequest();
    const plain = await h.t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(requester.key)).send({});
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.body).sort()).toEqual(['accessKeyId', 'expiration', 'region', 'secretAccessKey', 'sessionToken']);

    // No body and no content type at all, as `curl -X POST` sends it.
    const bare = await h.t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(requester.key));
    expect(bare.status, JSON.stringify(bare.body)).toBe(200);
    expect(Object.keys(bare.body).sort()).toEqual(['accessKeyId', 'expiration', 'region', 'secretAccessKey', 'sessionToken']);

    const before = h.aws.assumeRoleCalls.length;
    const bad = await h.t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(requester.key)).send({ format: 'ini' });
    expectProblem(bad, 400, 'validation');
    expect(h.aws.assumeRoleCalls).toHaveLength(before);
  });

  it('env is `export AWS_…=` lines that a shell can source', async () => {
    const { requester, request } = await activeRequest();
    const response = await issue(h.t, requester.key, request.id, 'env');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.headers['cache-control']).toBe('no-store');
    const issued = h.aws.issued.at(-1)!;
    const lines = response.text.split('\n').filter((line) => line !== '');
    for (const line of lines) expect(line).toMatch(/^export AWS_[A-Z_]+=\S+$/);
    const names = lines.map((line) => /^export (\w+)=/.exec(line)![1]);
    // Unquoted, as SPEC §4.2 shows them: a line read by a regex gives the value itself.
    expect(lines).toContain(`export AWS_ACCESS_KEY_ID=${h.aws.issued.at(-1)!.accessKeyId}`);
    expect(lines).toContain(`export AWS_SESSION_TOKEN=${h.aws.issued.at(-1)!.sessionToken}`);
    expect(names).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']));

    const dir = await mkdtemp(path.join(tmpdir(), 'brevet-env-'));
    try {
      const file = path.join(dir, 'credentials.env');
      await writeFile(file, response.text, { mode: 0o600 });
      const { stdout } = await run('bash', [
        '-c',
        'source <(cat "$1") && printf "%s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION" "$AWS_REGION" "$AWS_DEFAULT_REGION"',
        'bash',
        file,
      ]);
      // AWS_DEFAULT_REGION too: AWS CLI v1 and boto3 read no other.
      expect(stdout.split('\n').slice(0, 6)).toEqual([issued.accessKeyId, issued.secretAccessKey, issued.sessionToken, issued.expiration.toISOString(), 'eu-west-1', 'eu-west-1']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('each call is one issuance, audited with its format', async () => {
    const { requester, request } = await activeRequest();
    for (const format of ['json', 'credential_process', 'env'] as const) {
      expect((await issue(h.t, requester.key, request.id, format)).status).toBe(200);
    }
    const rows = await issuancesOf(h.t, request.id);
    expect(rows.map((row) => row.status)).toEqual(['issued', 'issued', 'issued']);
    expect(new Set(rows.map((row) => row.accessKeyId)).size).toBe(3);
    const events = await auditOf(h.t, request.id, 'credentials.issued');
    expect(events.map((event) => (event.details as { format: string }).format)).toEqual(['json', 'credential_process', 'env']);
  });
});

describe('Expiration', () => {
  it('is never past the window end, whatever the moment of issuance', async () => {
    const { requester, request } = await activeRequest();
    const startsAt = new Date(request.startsAt!).getTime();
    const endsAt = new Date(request.endsAt!).getTime();
    expect(endsAt - startsAt).toBe(1_800_000);
    for (const offsetMs of [0, 1, 499, 137_250, 600_000, 879_999, 880_000, 890_000, 899_999, 900_000]) {
      h.t.clock.set(new Date(startsAt + offsetMs));
      const response = await issue(h.t, requester.key, request.id, 'credential_process');
      expect(response.status, `at +${offsetMs} ms`).toBe(200);
      const expiration = new Date(response.body.Expiration).getTime();
      expect(expiration, `at +${offsetMs} ms`).toBeLessThanOrEqual(endsAt);
      expect(expiration - h.t.clock.now().getTime(), `at +${offsetMs} ms`).toBeGreaterThan(899_000);
      const secondsLeft = Math.floor((endsAt - (startsAt + offsetMs)) / 1000);
      expect(h.aws.assumeRoleCalls.at(-1)!.durationSeconds).toBe(Math.max(900, secondsLeft - STS_CALL_ALLOWANCE_SECONDS));
    }
  });
});
