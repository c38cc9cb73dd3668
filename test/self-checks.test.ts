import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsIdentity } from '../src/adapters/aws/identity.js';
import { adminFinding, redisFindings, runSelfChecks, type Finding } from '../src/ops/self-checks.js';
import { principals } from '../src/db/schema.js';
import { startAwsStandIn, type AwsStandIn } from './support/aws-stand-in.js';
import { startTestApp, type TestApp } from './support/app.js';
import { createTestDatabase } from './support/database.js';
import { TEST_REDIS_URL } from './support/queue.js';
import { freePort, spawnServer, until } from './support/server-process.js';

describe('redisFindings', () => {
  it.each([
    { policy: 'noeviction', hz: 100, expected: [] },
    { policy: 'noeviction', hz: 500, expected: [] },
    { policy: 'allkeys-lru', hz: 100, expected: ['warn redis-maxmemory-policy'] },
    { policy: 'volatile-ttl', hz: 100, expected: ['warn redis-maxmemory-policy'] },
    { policy: 'noeviction', hz: 10, expected: ['info redis-hz'] },
    { policy: 'allkeys-random', hz: 99, expected: ['warn redis-maxmemory-policy', 'info redis-hz'] },
    // CONFIG disabled (managed Redis): nothing is claimed about what could not be read.
    { policy: undefined, hz: undefined, expected: [] },
  ])('$policy, hz $hz → $expected', ({ policy, hz, expected }) => {
    expect(redisFindings({ maxmemoryPolicy: policy, hz }).map((f) => `${f.level} ${f.check}`)).toEqual(expected);
  });

  it('says what hz 10 costs and how to fix the policy', () => {
    const [policy, hz] = redisFindings({ maxmemoryPolicy: 'allkeys-lru', hz: 10 });
    expect(policy?.message).toMatch(/noeviction/);
    expect(hz?.message).toMatch(/~100 ms late/);
  });
});

describe('adminFinding', () => {
  const groups = ['brevet-admins'];
  it.each([
    { adminExists: true, bootstrapKeySet: false, oidc: false, expected: undefined },
    { adminExists: true, bootstrapKeySet: true, oidc: true, expected: undefined },
    { adminExists: false, bootstrapKeySet: false, oidc: false, expected: 'warn' },
    // The key is used once per database: a key in the environment does not bring back an admin.
    { adminExists: false, bootstrapKeySet: true, oidc: false, expected: 'warn' },
    // OIDC users in the admin groups are administrators: there is a way in.
    { adminExists: false, bootstrapKeySet: false, oidc: true, expected: 'info' },
  ])('admin $adminExists, key $bootstrapKeySet, OIDC $oidc → $expected', ({ expected, ...state }) => {
    expect(adminFinding({ ...state, adminGroups: groups })?.level).toBe(expected);
  });

  it('names the fix when nobody can get in', () => {
    expect(adminFinding({ adminExists: false, bootstrapKeySet: false, oidc: false, adminGroups: groups })?.message).toMatch(/NO ADMINISTRATOR.*set BREVET_BOOTSTRAP_ADMIN_KEY/);
  });
});

describe('runSelfChecks against the real services', () => {
  let t: TestApp;
  let aws: AwsStandIn;
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );

  beforeAll(async () => {
    aws = await startAwsStandIn();
    process.env['AWS_ENDPOINT_URL_STS'] = aws.url;
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDSELFCHECK';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'self-check-secret';
    process.env['AWS_REGION'] = 'eu-west-1';
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    await aws?.close();
  });

  const run = (config: { redisUrl?: string; bootstrapAdminKey?: string; adminGroups?: string[] } = {}) =>
    runSelfChecks({
      db: t.deps.db,
      logger,
      awsIdentity: createAwsIdentity(),
      config: { redisUrl: config.redisUrl, bootstrapAdminKey: config.bootstrapAdminKey, oidc: undefined, adminGroups: config.adminGroups ?? ['brevet-admins'] },
    });
  const checks = (findings: Finding[]) => findings.map((f) => `${f.level} ${f.check}`);

  it('logs who Brevet is in AWS when its credentials work, and warns with the fix when they do not', async () => {
    const ok = await run();
    expect(ok.find((f) => f.check === 'aws-identity')).toMatchObject({ level: 'info', message: expect.stringContaining(`arn:aws:iam::${aws.account}:user/brevet`) });
    aws.unknownAccessKeys.add('AKIDSELFCHECK');
    try {
      const refused = await run();
      expect(refused.find((f) => f.check === 'aws-identity')).toMatchObject({ level: 'warn', message: expect.stringMatching(/invalid-credentials.*Fix: give the process AWS credentials/) });
    } finally {
      aws.unknownAccessKeys.delete('AKIDSELFCHECK');
    }
  });

  it('warns about the missing administrator exactly when no enabled admin exists', async () => {
    // The test app has its bootstrap admin in brevet-admins.
    expect(checks(await run())).not.toContain('warn admin');
    expect(checks(await run({ adminGroups: ['nobody-is-in-this-group'] }))).toContain('warn admin');
    await t.principal({ groups: ['other-admins'] });
    expect(checks(await run({ adminGroups: ['other-admins'] }))).not.toContain('warn admin');
    await t.deps.db.update(principals).set({ disabled: true });
    expect(checks(await run({ adminGroups: ['other-admins'] }))).toContain('warn admin');
  });

  it("reports this machine's Redis exactly as CONFIG GET shows it, each finding logged once", async () => {
    const redis = new Redis(TEST_REDIS_URL);
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const [, hz] = (await redis.config('GET', 'hz')) as string[];
    redis.disconnect();
    lines.length = 0;
    const found = checks(await run({ redisUrl: TEST_REDIS_URL })).filter((check) => check.includes('redis'));
    expect(found).toEqual(checks(redisFindings({ maxmemoryPolicy: policy, hz: Number(hz) })));
    for (const finding of found) expect(lines.filter((line) => line.includes(`"check":"${finding.split(' ')[1]}"`))).toHaveLength(1);
  });
});

describe('npm start in production on a database without an administrator', () => {
  it('says so loudly, with the fix, and still starts', { timeout: 60_000 }, async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const server = spawnServer({ DATABASE_URL: database.url, HOST: '127.0.0.1', PORT: String(port) });
    try {
      await server.waitForOutput(/NO ADMINISTRATOR[^"]*BREVET_BOOTSTRAP_ADMIN_KEY/, 45_000);
      await until(async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) ? true : undefined), 10_000, '/healthz');
      expect(await server.stop()).toBe(0);
      expect(server.stdout().match(/NO ADMINISTRATOR/g)).toHaveLength(1);
    } finally {
      if (server.exitCode() === undefined) server.child.kill('SIGKILL');
      await database.drop();
    }
  });
});
