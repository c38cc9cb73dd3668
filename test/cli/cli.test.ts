// The compiled `brevet` CLI (SPEC §10) run as a child process against a real Brevet server on
// loopback, with the real AWS SDK pointed at the STS stand-in.
import { readFileSync, statSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auth, createProfile, startHarness, type Harness } from '../credentials/helpers.js';
import { cliHome, runCli, spawnCli, type CliHome } from './helpers.js';

let h: Harness;
let home: CliHome;
let url: string;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let gated: { id: string; name: string };
let auto: { id: string; name: string };

beforeAll(async () => {
  h = await startHarness({ listen: true });
  url = h.baseUrl!;
  home = await cliHome();
  alice = await h.t.principal({ groups: ['dev'], email: `alice-${Date.now()}@example.com` });
  bob = await h.t.principal({ groups: ['sre'] });
  gated = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
  auto = await createProfile(h.t);
});
afterAll(async () => {
  await h?.close();
  await home?.remove();
});

const as = (key: string, extra: Record<string, string> = {}) => ({ ...home.env, BREVET_URL: url, BREVET_TOKEN: key, ...extra });
const brevet = (key: string, ...args: string[]) => runCli(args, as(key));
const mode = (file: string) => statSync(file).mode & 0o777;

// Each test starts the CLI as a child process several times; a loaded machine makes that slow.
vi.setConfig({ testTimeout: 60_000 });

describe('login and whoami', () => {
  it('refuses a wrong token with exit 5 and saves nothing', async () => {
    const result = await runCli(['login', '--url', url, '--token', 'brv_wrong_key_wrong_key_wrong_key_wrong_k'], home.env);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^brevet: .+: .+\nhint: brevet login/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(() => statSync(path.join(home.env.XDG_CONFIG_HOME!, 'brevet', 'config.json'))).toThrow();
  });

  it('checks the token, saves it with mode 0600, and whoami uses it', async () => {
    const login = await runCli(['login', '--url', url, '--token', alice.key], home.env);
    expect(login.code, login.stderr).toBe(0);
    const file = path.join(home.env.XDG_CONFIG_HOME!, 'brevet', 'config.json');
    expect(mode(file)).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url, token: alice.key });
    const me = await runCli(['whoami', '--json'], home.env);
    expect(me.code).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ id: alice.id, groups: ['dev'] });
    expect((await runCli(['whoami'], home.env)).stdout).toContain(alice.id);

    // The saved key goes to its own server only: BREVET_URL naming another, without BREVET_TOKEN, has no token.
    const elsewhere = await runCli(['whoami'], { ...home.env, BREVET_URL: url.replace('127.0.0.1', 'localhost') });
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toContain('hint: brevet login');
    expect((await runCli(['whoami', '--json'], { ...home.env, BREVET_URL: `${url}/` })).code, 'the same server, written with a slash').toBe(0);
  });

  it('exits 5 with a login hint when there is no config and no environment', async () => {
    const empty = await cliHome();
    const result = await runCli(['whoami'], empty.env);
    await empty.remove();
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('hint: brevet login --url URL --token KEY');
  });

  it('exits 2 on usage errors', async () => {
    expect((await brevet(alice.key, 'request')).code).toBe(2);
    expect((await brevet(alice.key, 'frobnicate')).code).toBe(2);
    expect((await brevet(alice.key, 'ls', '--bogus')).code).toBe(2);
    expect((await brevet(alice.key, 'request', gated.name, '--reason', 'x', '--duration', 'ten')).code).toBe(2);
    expect((await brevet(alice.key, 'ls', '--mine', '--reviewable')).code).toBe(2);
    // No command at all: the usage goes to stderr, nothing to stdout.
    const bare = await runCli([], as(alice.key));
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('brevet credential-process --profile');
  });
});

describe('requests', () => {
  it('--wait returns within a second of an approval made elsewhere, printing only the final request with --json', async () => {
    const waiting = brevet(alice.key, 'request', gated.name, '--reason', 'INC-1 deploy fix', '--duration', '30m', '--wait', '--json');
    let id: string | undefined;
    for (let tries = 0; id === undefined && tries < 100; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const listed = await h.t.http().get(`/v1/requests?mine=true&status=pending&profile=${gated.name}`).set(auth(alice.key));
      id = listed.body.items[0]?.id;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    await h.t.http().post(`/v1/requests/${id}/reviews`).set(auth(bob.key)).send({ decision: 'approve' }).expect(200);
    const approvedAt = Date.now();
    const result = await waiting;
    expect(result.code, result.stderr).toBe(0);
    expect(result.endedAt - approvedAt).toBeLessThan(1_000);
    const final = JSON.parse(result.stdout);
    expect(final).toMatchObject({ id, status: 'active', profileName: gated.name, durationSeconds: 1800 });
    // Not a terminal: plain lines, one per change.
    expect(result.stderr).toContain(`request ${id} pending`);
    expect(result.stderr).toContain(`request ${id} active`);
  });

  it('narrows to --scope-actions on whatever resources the profile allows them on', async () => {
    const reports = await createProfile(h.t, {
      sessionPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: 'arn:aws:s3:::logs*' }] },
    });
    const result = await brevet(alice.key, 'request', reports.name, '--reason', 'INC-9 read logs', '--scope-actions', 's3:GetObject', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'active', scope: { actions: ['s3:GetObject'] } });
    const wider = await brevet(alice.key, 'request', reports.name, '--reason', 'INC-9 write logs', '--scope-actions', 's3:GetObject,s3:PutObject');
    expect(wider.code).toBe(1);
    expect(wider.stderr).toContain('s3:PutObject is not allowed by the profile session policy');
  });

  it('asks without --reason, as the credential-process hint says ("brevet request P --wait"), saying no reason was given', async () => {
    const result = await brevet(alice.key, 'request', auto.name, '--wait', '--json');
    expect(result.code, result.stderr).toBe(0);
    const request = JSON.parse(result.stdout);
    expect(request).toMatchObject({ status: 'active', profileName: auto.name, justification: 'no reason given (brevet request without --reason)' });
    // Break-glass is granted on its justification alone: it is not left out.
    const glass = await brevet(alice.key, 'request', auto.name, '--break-glass');
    expect(glass.code).toBe(2);
    expect(glass.stderr).toContain('--break-glass needs --reason');
  });

  it('--wait exits 3 with the status and the deny comment', async () => {
    const waiting = brevet(alice.key, 'request', gated.name, '--reason', 'INC-2 look around', '--wait');
    let id: string | undefined;
    for (let tries = 0; id === undefined && tries < 100; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const listed = await h.t.http().get(`/v1/requests?mine=true&status=pending&profile=${gated.name}`).set(auth(alice.key));
      id = listed.body.items[0]?.id;
    }
    await h.t.http().post(`/v1/requests/${id}/reviews`).set(auth(bob.key)).send({ decision: 'deny', comment: 'use the read-only role' }).expect(200);
    const result = await waiting;
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`request ${id} denied: use the read-only role`);
  });

  it('--wait exits 4 at --timeout and leaves the request pending', async () => {
    const started = Date.now();
    const result = await brevet(alice.key, 'request', gated.name, '--reason', 'INC-3 waiting game', '--wait', '--timeout', '2s', '--json');
    expect(result.code).toBe(4);
    expect(Date.now() - started).toBeLessThan(6_000);
    const last = JSON.parse(result.stdout);
    expect(last.status).toBe('pending');
    expect(result.stderr).toContain(`hint: brevet status ${last.id}`);
    const now = await h.t.http().get(`/v1/requests/${last.id}`).set(auth(alice.key)).expect(200);
    expect(now.body.status).toBe('pending');
  });

  it('status, ls, approve, deny, cancel and revoke speak to the API and print its answers with --json', async () => {
    const created = JSON.parse((await brevet(alice.key, 'request', gated.name, '--reason', 'INC-4 one more', '--ticket', 'INC-4', '--json')).stdout);
    expect(created).toMatchObject({ status: 'pending', ticket: 'INC-4' });
    const shown = await brevet(alice.key, 'status', created.id);
    expect(shown.stdout).toContain(created.id);
    expect(shown.stdout).toContain('INC-4 one more');
    const reviewable = JSON.parse((await brevet(bob.key, 'ls', '--reviewable', '--json')).stdout);
    expect(reviewable.items.map((item: { id: string }) => item.id)).toContain(created.id);
    expect(reviewable).toHaveProperty('nextCursor');
    const approved = JSON.parse((await brevet(bob.key, 'approve', created.id, '--comment', 'ok', '--json')).stdout);
    expect(approved.status).toBe('active');
    const revoked = JSON.parse((await brevet(alice.key, 'revoke', created.id, '--reason', 'done', '--json')).stdout);
    expect(revoked).toMatchObject({ status: 'revoked', revokedReason: 'done' });

    const other = JSON.parse((await brevet(alice.key, 'request', gated.name, '--reason', 'INC-5 not needed', '--json')).stdout);
    expect(JSON.parse((await brevet(alice.key, 'cancel', other.id, '--json')).stdout).status).toBe('cancelled');
    const third = JSON.parse((await brevet(alice.key, 'request', gated.name, '--reason', 'INC-6 no', '--json')).stdout);
    expect(JSON.parse((await brevet(bob.key, 'deny', third.id, '--json')).stdout).status).toBe('denied');

    const mine = await brevet(alice.key, 'ls', '--mine', '--status', 'cancelled');
    expect(mine.stdout).toContain(other.id);
    expect(mine.stdout).not.toContain(third.id);
  });

  it('extend asks for more time on an active grant: approved at once, or waiting for review', async () => {
    const quick = await createProfile(h.t, { approval: { required: 0, extension: { required: 0, maxTotalSeconds: 7200 } } });
    const grant = JSON.parse((await brevet(alice.key, 'request', quick.name, '--reason', 'INC-8 deploy', '--duration', '30m', '--json')).stdout);
    const extended = await brevet(alice.key, 'extend', grant.id, '--reason', 'INC-8 rollback too');
    expect(extended.code, extended.stderr).toBe(0);
    const newEnd = new Date(Date.parse(grant.endsAt) + 3600_000).toISOString();
    expect(extended.stderr).toContain(`extended: ${grant.id} now ends at ${newEnd}`);
    expect((await h.t.http().get(`/v1/requests/${grant.id}`).set(auth(alice.key)).expect(200)).body.endsAt).toBe(newEnd);
    // Past maxTotalSeconds (30 min + 1 h + 1 h > 2 h): the API's refusal, exit 1.
    const tooLong = await brevet(alice.key, 'extend', grant.id, '--reason', 'INC-8 and more');
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toContain('7200');

    const reviewed = await createProfile(h.t, { approval: { required: 0, approverGroups: ['sre'], extension: { required: 1, maxTotalSeconds: 7200 } } });
    const second = JSON.parse((await brevet(alice.key, 'request', reviewed.name, '--reason', 'INC-9 deploy', '--duration', '30m', '--json')).stdout);
    const pending = JSON.parse((await brevet(alice.key, 'extend', second.id, '--reason', 'INC-9 slow', '--duration', '15m', '--json')).stdout);
    expect(pending).toMatchObject({ kind: 'extension', parentId: second.id, status: 'pending', durationSeconds: 900 });
    expect((await brevet(alice.key, 'extend', second.id)).code).toBe(2);
  });

  it('prints a problem as title and detail, with a hint, exit 1', async () => {
    const selfReview = await brevet(alice.key, 'status', 'req_doesnotexist');
    expect(selfReview.code).toBe(1);
    expect(selfReview.stderr).toMatch(/^brevet: [^\n]+: no such request\n/);
    const refused = await brevet(bob.key, 'request', gated.name, '--reason', 'not mine to ask');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('hint: brevet profiles');
    expect(refused.stdout).toBe('');
  });

  it('profiles lists what the caller may ask for', async () => {
    const listed = JSON.parse((await brevet(alice.key, 'profiles', '--json')).stdout);
    expect(listed.items.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining([gated.name, auto.name]));
    expect((await brevet(alice.key, 'profiles')).stdout).toContain(auto.name);
  });
});

describe('credentials on the command line', () => {
  it('credentials prints env lines by default and JSON with --format json; console prints the sign-in URL', async () => {
    const active = JSON.parse((await brevet(alice.key, 'request', auto.name, '--reason', 'INC-7 creds', '--json')).stdout);
    expect(active.status).toBe('active');
    const env = await brevet(alice.key, 'credentials', active.id);
    expect(env.code, env.stderr).toBe(0);
    expect(env.stdout).toMatch(/^export AWS_ACCESS_KEY_ID=/m);
    const json = JSON.parse((await brevet(alice.key, 'credentials', active.id, '--format', 'json')).stdout);
    expect(json).toHaveProperty('secretAccessKey');
    const signIn = await brevet(alice.key, 'console', active.id);
    expect(signIn.code, signIn.stderr).toBe(0);
    expect(signIn.stdout.trim()).toMatch(/^http/);
  });
});

let cached: { id: string };

describe('credential-process and configure-aws', () => {
  it('exits 1 with the exact message and prints nothing on stdout when there is no active request', async () => {
    const none = await createProfile(h.t);
    const result = await brevet(alice.key, 'credential-process', '--profile', none.name);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`no active Brevet access to ${none.name}: run "brevet request ${none.name} --wait"\n`);
  });

  it('configure-aws writes a section the AWS SDK runs, whose output it accepts; a second run is served from the cache', async () => {
    // The newest active request is the one used: the app's clock is moved so it is the newest.
    h.t.clock.advance(1_000);
    cached = JSON.parse((await brevet(alice.key, 'request', auto.name, '--reason', 'INC-8 sdk', '--json')).stdout);
    const configure = await brevet(alice.key, 'configure-aws', auto.name);
    expect(configure.code, configure.stderr).toBe(0);

    // The SDK's own provider runs `credential_process` with this process's environment.
    Object.assign(process.env, as(alice.key));
    const calls = h.aws.assumeRoleCalls.length;
    const provider = fromProcess({ profile: `brevet-${auto.name}`, ignoreCache: true });
    const first = await provider();
    expect(first.accessKeyId).toMatch(/\S/);
    expect(first.expiration).toBeInstanceOf(Date);
    expect(h.aws.assumeRoleCalls.length).toBe(calls + 1);
    expect(h.aws.assumeRoleCalls.at(-1)!.roleSessionName).toBe(`brevet-${cached.id}`);

    const second = await fromProcess({ profile: `brevet-${auto.name}`, ignoreCache: true })();
    expect(second.accessKeyId).toBe(first.accessKeyId);
    expect(h.aws.assumeRoleCalls.length).toBe(calls + 1);

    const dir = path.join(home.env.XDG_CACHE_HOME!, 'brevet');
    expect(mode(dir)).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(mode(path.join(dir, files[0]!))).toBe(0o600);
    expect(readFileSync(path.join(dir, files[0]!), 'utf8')).not.toContain(alice.key);
  });

  it('prints exactly the credential_process JSON on stdout, warm or cold', async () => {
    const warm = await brevet(alice.key, 'credential-process', '--profile', auto.name);
    expect(warm.code).toBe(0);
    expect(warm.stderr).toBe('');
    const document = JSON.parse(warm.stdout);
    expect(Object.keys(document)).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    expect(document.Version).toBe(1);
    // Another server (or token) is another cache entry: a cold run.
    const calls = h.aws.assumeRoleCalls.length;
    const cold = await runCli(['credential-process', '--profile', auto.name], as(alice.key, { BREVET_URL: url.replace('127.0.0.1', 'localhost') }));
    expect(cold.code, cold.stderr).toBe(0);
    expect(Object.keys(JSON.parse(cold.stdout))).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    expect(h.aws.assumeRoleCalls.length).toBe(calls + 1);
  });

  it('configure-aws keeps the rest of ~/.aws/config byte for byte, updates its section in place, and is idempotent', async () => {
    const file = home.env.AWS_CONFIG_FILE!;
    mkdirSync(path.dirname(file), { recursive: true });
    const before = [
      '# my settings',
      '[default]',
      'region = eu-west-1',
      '',
      '[profile brevet-x]',
      'region = us-east-1',
      'credential_process = old-command',
      'output = json',
      '',
      '[profile other]',
      'role_arn = arn:aws:iam::1:role/R',
      's3 =',
      '  max_concurrent_requests = 20',
      '',
    ].join('\n');
    writeFileSync(file, before);
    expect((await brevet(alice.key, 'configure-aws', 'x')).code).toBe(0);
    const after = readFileSync(file, 'utf8');
    const lines = after.split('\n');
    const line = lines.find((l) => l.startsWith('credential_process'))!;
    expect(line).toMatch(/^credential_process = \/\S+\/bin\/brevet\.js credential-process --profile x$/);
    expect(after).toBe(before.replace('credential_process = old-command', line));

    expect((await brevet(alice.key, 'configure-aws', auto.name, '--aws-profile', 'mine')).code).toBe(0);
    const withNew = readFileSync(file, 'utf8');
    expect(withNew.startsWith(after)).toBe(true);
    expect(withNew.slice(after.length)).toBe(`\n[profile mine]\ncredential_process = ${line.split(' = ')[1]!.replace('--profile x', `--profile ${auto.name}`)}\n`);
    expect((await brevet(alice.key, 'configure-aws', auto.name, '--aws-profile', 'mine')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(withNew);
  });
});

describe('audit', () => {
  it('lists the events of a request and verifies the trail', async () => {
    const listed = JSON.parse((await brevet(h.t.adminKey, 'audit', '--request', cached.id, '--json')).stdout);
    expect(listed.items.map((event: { action: string }) => event.action)).toEqual(expect.arrayContaining(['request.created', 'credentials.issued']));
    const lines = await brevet(h.t.adminKey, 'audit', '--request', cached.id, '--since', '1h');
    expect(lines.stdout).toContain('request.created');
    const verify = await brevet(h.t.adminKey, 'audit', 'verify', '--json');
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it('ends quietly with 141, as SIGPIPE would, when its reader goes away (brevet audit --follow | head -1)', async () => {
    const child = spawnCli(['audit', '--follow'], as(h.t.adminKey));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    // A new event: the next line the CLI writes meets the closed pipe.
    await h.t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: auto.name, durationSeconds: 900, justification: 'pipe' }).expect(201);
    expect(await closed).toBe(141);
    expect(stderr).toBe('');
  });
});
