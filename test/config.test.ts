import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from '../src/config.js';
import { spawnServer } from './support/server-process.js';

/** The ConfigError loadConfig throws for this environment. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

const GOOD_KEY = 'k'.repeat(40);

describe('loadConfig', () => {
  it('runs dev mode on defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      // Dev mode listens on loopback only (SPEC §10.2).
      host: '127.0.0.1',
      demo: false,
      logLevel: 'info',
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: path.resolve('.brevet'),
      bootstrapAdminKey: undefined,
      adminGroups: ['brevet-admins'],
      auditorGroups: ['brevet-auditors'],
      trustProxy: false,
      oidc: undefined,
      federationUrl: 'https://signin.aws.amazon.com/federation',
      webhookUrls: [],
      webhookSecret: undefined,
      roleChaining: false,
      rateLimitPerMinute: 600,
      authFailuresPerMinute: 600,
      slack: { signingSecret: undefined, botToken: undefined, apiUrl: undefined, teamId: undefined, appId: undefined },
    });
  });

  it('gives failed authentications the rate limit\'s budget unless set on their own: BREVET_RATE_LIMIT_PER_MINUTE=0 turns both off (SPEC §9)', () => {
    expect(loadConfig({ BREVET_RATE_LIMIT_PER_MINUTE: '0' })).toMatchObject({ rateLimitPerMinute: 0, authFailuresPerMinute: 0 });
    expect(loadConfig({ BREVET_RATE_LIMIT_PER_MINUTE: '20' })).toMatchObject({ rateLimitPerMinute: 20, authFailuresPerMinute: 20 });
    expect(loadConfig({ BREVET_RATE_LIMIT_PER_MINUTE: '0', BREVET_AUTH_FAILURES_PER_MINUTE: '30' })).toMatchObject({ authFailuresPerMinute: 30 });
  });

  it('requires email_verified: true of OIDC tokens only when OIDC_EMAIL_VERIFIED_OPTIONAL=false', () => {
    const oidc = { OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'brevet' };
    expect(loadConfig({ ...oidc, OIDC_EMAIL_VERIFIED_OPTIONAL: 'false' }).oidc).toMatchObject({ trustUnverifiedEmail: false });
  });

  it('listens on every address in production and where HOST says in dev mode; BREVET_DEMO turns the demo on', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/brevet' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ BREVET_DEMO: '1' }).demo).toBe(true);
    expect(() => loadConfig({ BREVET_DEMO: 'yes please' })).toThrow(/BREVET_DEMO/);
  });

  it('reads a production environment', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://brevet@db:5432/brevet',
      REDIS_URL: 'redis://redis:6379',
      BREVET_ADMIN_GROUPS: ' platform-admins , sre ',
      OIDC_ISSUER: 'https://idp.example.com',
      OIDC_AUDIENCE: 'brevet',
      OIDC_GROUPS_CLAIM: 'roles',
      BREVET_WEBHOOK_URLS: 'https://hooks.example.com/a,https://hooks.example.com/b',
      BREVET_WEBHOOK_SECRET: 'whsec',
      BREVET_BOOTSTRAP_ADMIN_KEY: GOOD_KEY,
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: 'postgres://brevet@db:5432/brevet',
      redisUrl: 'redis://redis:6379',
      adminGroups: ['platform-admins', 'sre'],
      oidc: { issuer: 'https://idp.example.com', audience: 'brevet', jwksUrl: undefined, groupsClaim: 'roles', trustUnverifiedEmail: true },
      webhookUrls: ['https://hooks.example.com/a', 'https://hooks.example.com/b'],
      bootstrapAdminKey: GOOD_KEY,
    });
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', OIDC_ISSUER: '  ', DATABASE_URL: '' })).toMatchObject({ port: 3000, oidc: undefined, databaseUrl: undefined });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '3000.5' }, 'PORT'],
    [{ OIDC_ISSUER: 'https://idp.example.com' }, 'OIDC_AUDIENCE'],
    [{ OIDC_ISSUER: 'not a url', OIDC_AUDIENCE: 'brevet' }, 'OIDC_ISSUER'],
    [{ OIDC_JWKS_URL: 'https://idp.example.com/jwks' }, 'OIDC_ISSUER'],
    [{ BREVET_WEBHOOK_URLS: 'https://hooks.example.com/a' }, 'BREVET_WEBHOOK_SECRET'],
    [{ BREVET_WEBHOOK_URLS: 'ftp://hooks.example.com', BREVET_WEBHOOK_SECRET: 's' }, 'BREVET_WEBHOOK_URLS'],
    [{ BREVET_BOOTSTRAP_ADMIN_KEY: `${'k'.repeat(40)} with spaces` }, 'BREVET_BOOTSTRAP_ADMIN_KEY'],
    [{ BREVET_BOOTSTRAP_ADMIN_KEY: 'clé-admin' }, 'BREVET_BOOTSTRAP_ADMIN_KEY'],
    [{ BREVET_BOOTSTRAP_ADMIN_KEY: 'k'.repeat(257) }, 'BREVET_BOOTSTRAP_ADMIN_KEY'],
    [{ BREVET_BOOTSTRAP_ADMIN_KEY: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }, 'BREVET_BOOTSTRAP_ADMIN_KEY'],
    [{ DATABASE_URL: 'mysql://db/brevet' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ BREVET_ROLE_CHAINING: 'yes' }, 'BREVET_ROLE_CHAINING'],
    [{ BREVET_TRUST_PROXY: 'yes' }, 'BREVET_TRUST_PROXY'],
    [{ BREVET_TRUST_PROXY: '10.0.0.0/8,not-an-address' }, 'BREVET_TRUST_PROXY'],
    [{ BREVET_TRUST_PROXY: '-1' }, 'BREVET_TRUST_PROXY'],
    [{ BREVET_AUTH_FAILURES_PER_MINUTE: 'many' }, 'BREVET_AUTH_FAILURES_PER_MINUTE'],
    [{ SLACK_TEAM_ID: 'my-workspace' }, 'SLACK_TEAM_ID'],
    [{ SLACK_APP_ID: 'T0123ABC' }, 'SLACK_APP_ID'],
    [{ BREVET_AUDIT_SIGNING_KEY: 'not-a-key' }, 'BREVET_AUDIT_SIGNING_KEY'],
    [{ BREVET_AUDIT_SIGNING_KEY: Buffer.alloc(31, 7).toString('base64') }, 'BREVET_AUDIT_SIGNING_KEY'],
    [{ BREVET_AUDIT_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }, 'BREVET_AUDIT_SIGNING_KEY'],
  ])('refuses %o naming %s', (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it.each(['root', 'test-admin-key', 'a+b/c=', 'brv_' + 'x'.repeat(43)])('takes BREVET_BOOTSTRAP_ADMIN_KEY=%s, as Vault takes any dev root token id', (key) => {
    expect(loadConfig({ BREVET_BOOTSTRAP_ADMIN_KEY: key }).bootstrapAdminKey).toBe(key);
  });

  it('never repeats a refused secret in the error', () => {
    const secret = 'hunter2 but longer';
    expect(configError({ BREVET_BOOTSTRAP_ADMIN_KEY: secret }).message).not.toContain(secret);
    expect(configError({ BREVET_AUDIT_SIGNING_KEY: secret }).message).not.toContain(secret);
  });

  it('reads BREVET_AUDIT_SIGNING_KEY as a PKCS#8 PEM (line breaks as \\n too) or a base64 seed: the same key', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const seed = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(-32).toString('base64');
    const publicOf = (value: string) => createPublicKey(loadConfig({ BREVET_AUDIT_SIGNING_KEY: value }).audit.signingKey!).export({ format: 'pem', type: 'spki' });
    const expected = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' });
    expect(publicOf(pem)).toEqual(expected);
    expect(publicOf(pem.replace(/\n/g, '\\n'))).toEqual(expected);
    expect(publicOf(seed)).toEqual(expected);
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['true', true],
    ['0', 0],
    ['2', 2],
    ['10.0.0.1', ['10.0.0.1']],
    [' 10.0.0.0/8 , 192.168.1.1, ::1 ', ['10.0.0.0/8', '192.168.1.1', '::1']],
    ['loopback, fd00::/8', ['loopback', 'fd00::/8']],
  ])('reads BREVET_TRUST_PROXY=%s as %o', (value, expected) => {
    expect(loadConfig(value === undefined ? {} : { BREVET_TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });
});

describe('the server process', () => {
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ BREVET_BOOTSTRAP_ADMIN_KEY: 'secret with spaces' }, 'BREVET_BOOTSTRAP_ADMIN_KEY'],
    [{ BREVET_TRUST_PROXY: 'yes' }, 'BREVET_TRUST_PROXY'],
  ])('prints one line naming the variable and exits 1 on %o', async (env, variable) => {
    const server = spawnServer(env);
    expect(await server.exited).toBe(1);
    const lines = server.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^brevet: configuration error: ${variable}\\b`));
    for (const value of Object.values(env)) expect(server.stderr()).not.toContain(value);
    expect(server.stdout()).toBe('');
  });
});
