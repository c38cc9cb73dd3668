import path from 'node:path';
import ipaddr from 'ipaddr.js';
import type { KeyObject } from 'node:crypto';
import { parseSigningKey } from './audit/signing-key.js';

/**
 * Everything Brevet reads from the environment, parsed once at start.
 * A wrong value stops the process with one line naming the variable.
 * Secrets have no defaults: a feature whose secret is missing is off, or the boot fails.
 */
export interface Config {
  port: number;
  host: string;
  logLevel: string;
  /** Absent: dev mode on an embedded PGlite database under dataDir. */
  databaseUrl: string | undefined;
  /** Absent: timed work runs from the in-process reconciler instead of BullMQ. */
  redisUrl: string | undefined;
  dataDir: string;
  bootstrapAdminKey: string | undefined;
  adminGroups: string[];
  auditorGroups: string[];
  /** Passed to Fastify's trustProxy: false, true, a hop count, or a list of addresses/CIDRs. */
  trustProxy: boolean | number | string[];
  oidc: OidcConfig | undefined;
  slack: {
    signingSecret: string | undefined;
    botToken: string | undefined;
    apiUrl: string | undefined;
    /** When set, Slack calls from any other workspace (team) or app are refused. */
    teamId: string | undefined;
    appId: string | undefined;
  };
  federationUrl: string;
  webhookUrls: string[];
  webhookSecret: string | undefined;
  roleChaining: boolean;
  /** Requests per minute per source address, shared through Redis when configured; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Failed authentications per minute per source address and per presented credential; 0 turns it off. */
  authFailuresPerMinute: number;
  /** Apply migrations at start; off when a separate owner role runs `npm run migrate` (docs/audit.md). */
  migrateOnStart: boolean;
  publicUrl: string | undefined;
  /** On-call auto-approval (SPEC §12): off for every profile while the token is unset. */
  pagerDuty: { apiUrl: string; token: string | undefined };
  /** BREVET_DEMO=1 (or `npm start -- --demo`): dev mode creates the demo people and profile once (SPEC §10.2). */
  demo: boolean;
  /**
   * Approve with evidence (SPEC §13): Access Analyzer checks of policies and CloudTrail activity
   * reports. Off by default, so a deployment without those permissions keeps working.
   */
  evidence: { enabled: boolean; activitySettleSeconds: number };
  audit: {
    /** Ed25519 key sealed blocks are signed with (SPEC §11); absent: dev mode keeps one in dataDir, production seals unsigned. */
    signingKey: KeyObject | undefined;
    /** Where each sealed block is also appended, one NDJSON file per UTC day. */
    checkpointDir: string | undefined;
  };
}

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Absent: discovered from the issuer's /.well-known/openid-configuration. */
  jwksUrl: string | undefined;
  groupsClaim: string;
  /** Treat a token without `email_verified` as verified (IdPs such as Entra ID never send it). */
  trustUnverifiedEmail: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };

  const oidcIssuer = read('OIDC_ISSUER');
  const oidcJwksUrl = optionalUrl(read, 'OIDC_JWKS_URL');
  let oidc: OidcConfig | undefined;
  if (oidcIssuer !== undefined) {
    url('OIDC_ISSUER', oidcIssuer);
    const audience = read('OIDC_AUDIENCE');
    if (audience === undefined) throw new ConfigError('OIDC_AUDIENCE', 'required when OIDC_ISSUER is set');
    oidc = {
      issuer: oidcIssuer,
      audience,
      jwksUrl: oidcJwksUrl,
      groupsClaim: read('OIDC_GROUPS_CLAIM') ?? 'groups',
      trustUnverifiedEmail: boolean('OIDC_EMAIL_VERIFIED_OPTIONAL', read('OIDC_EMAIL_VERIFIED_OPTIONAL'), true),
    };
  } else if (oidcJwksUrl !== undefined) {
    throw new ConfigError('OIDC_ISSUER', 'required when OIDC_JWKS_URL is set (tokens are checked against it)');
  }

  const bootstrapAdminKey = read('BREVET_BOOTSTRAP_ADMIN_KEY');
  // Any key a Bearer header carries as an API key, as Vault takes any dev root token id: printable
  // ASCII without spaces, and not the shape of a JWT (it would be read as one). A short one is
  // taken too, with a warning at start (server.ts): refusing it would only stop a test setup.
  if (bootstrapAdminKey !== undefined && (!/^[\x21-\x7e]{1,256}$/.test(bootstrapAdminKey) || /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(bootstrapAdminKey))) {
    throw new ConfigError('BREVET_BOOTSTRAP_ADMIN_KEY', 'must be 1 to 256 printable ASCII characters without spaces, and not shaped like a JWT (three parts joined by dots)');
  }

  const webhookUrls = list(read('BREVET_WEBHOOK_URLS'));
  webhookUrls.forEach((u) => url('BREVET_WEBHOOK_URLS', u));
  const webhookSecret = read('BREVET_WEBHOOK_SECRET');
  if (webhookUrls.length > 0 && webhookSecret === undefined) {
    throw new ConfigError('BREVET_WEBHOOK_SECRET', 'required when BREVET_WEBHOOK_URLS is set');
  }

  const slackToken = read('SLACK_BOT_TOKEN');
  const slackSecret = read('SLACK_SIGNING_SECRET');

  const databaseUrl = read('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }

  const signingKeyText = read('BREVET_AUDIT_SIGNING_KEY');
  let signingKey: KeyObject | undefined;
  if (signingKeyText !== undefined) {
    try {
      signingKey = parseSigningKey(signingKeyText);
    } catch (error) {
      throw new ConfigError('BREVET_AUDIT_SIGNING_KEY', error instanceof Error ? error.message : 'not a usable key');
    }
  }

  const checkpointDir = read('BREVET_AUDIT_CHECKPOINT_DIR');

  return {
    port: integer('PORT', read('PORT'), 3000, 0, 65535),
    // Dev mode is for trying Brevet on one machine: loopback only, unless HOST says otherwise (SPEC §10.2).
    host: read('HOST') ?? (databaseUrl === undefined ? '127.0.0.1' : '0.0.0.0'),
    logLevel: oneOf('LOG_LEVEL', read('LOG_LEVEL'), ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    databaseUrl,
    redisUrl: optionalUrl(read, 'REDIS_URL'),
    dataDir: path.resolve(read('BREVET_DATA_DIR') ?? '.brevet'),
    bootstrapAdminKey,
    adminGroups: list(read('BREVET_ADMIN_GROUPS') ?? 'brevet-admins'),
    auditorGroups: list(read('BREVET_AUDITOR_GROUPS') ?? 'brevet-auditors'),
    trustProxy: trustProxy(read('BREVET_TRUST_PROXY')),
    oidc,
    slack: {
      signingSecret: slackSecret,
      botToken: slackToken,
      apiUrl: optionalUrl(read, 'SLACK_API_URL'),
      teamId: slackId('SLACK_TEAM_ID', read('SLACK_TEAM_ID'), /^[TE][A-Z0-9]{2,30}$/, 'a Slack workspace id such as T0123ABCD'),
      appId: slackId('SLACK_APP_ID', read('SLACK_APP_ID'), /^A[A-Z0-9]{2,30}$/, 'a Slack app id such as A0123ABCD'),
    },
    federationUrl: optionalUrl(read, 'BREVET_FEDERATION_URL') ?? 'https://signin.aws.amazon.com/federation',
    webhookUrls,
    webhookSecret,
    roleChaining: boolean('BREVET_ROLE_CHAINING', read('BREVET_ROLE_CHAINING'), false),
    rateLimitPerMinute: integer('BREVET_RATE_LIMIT_PER_MINUTE', read('BREVET_RATE_LIMIT_PER_MINUTE'), 600, 0, 1_000_000),
    // SPEC §9: failed authentication counts against the rate limit, and 0 turns limiting off; so
    // unless set on its own, the failure budget is the rate limit's (a leaked key tried from many
    // addresses is still limited as one credential).
    authFailuresPerMinute: integer(
      'BREVET_AUTH_FAILURES_PER_MINUTE',
      read('BREVET_AUTH_FAILURES_PER_MINUTE'),
      integer('BREVET_RATE_LIMIT_PER_MINUTE', read('BREVET_RATE_LIMIT_PER_MINUTE'), 600, 0, 1_000_000),
      0,
      1_000_000,
    ),
    migrateOnStart: boolean('BREVET_MIGRATE_ON_START', read('BREVET_MIGRATE_ON_START'), true),
    publicUrl: optionalUrl(read, 'BREVET_PUBLIC_URL'),
    demo: boolean('BREVET_DEMO', read('BREVET_DEMO'), false),
    evidence: {
      enabled: boolean('BREVET_EVIDENCE', read('BREVET_EVIDENCE'), false),
      activitySettleSeconds: integer('BREVET_ACTIVITY_SETTLE_SECONDS', read('BREVET_ACTIVITY_SETTLE_SECONDS'), 900, 0, 3_600),
    },
    pagerDuty: { apiUrl: optionalUrl(read, 'PAGERDUTY_API_URL') ?? 'https://api.pagerduty.com', token: read('PAGERDUTY_TOKEN') },
    audit: { signingKey, checkpointDir: checkpointDir === undefined ? undefined : path.resolve(checkpointDir) },
  };
}

function slackId(name: string, value: string | undefined, shape: RegExp, what: string): string | undefined {
  if (value !== undefined && !shape.test(value)) throw new ConfigError(name, `must be ${what}`);
  return value;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function url(name: string, value: string): string {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:' && !parsed.protocol.startsWith('redis')) {
      throw new Error('protocol');
    }
  } catch {
    throw new ConfigError(name, `not a valid URL`);
  }
  return value;
}

function optionalUrl(read: (name: string) => string | undefined, name: string): string | undefined {
  const value = read(name);
  return value === undefined ? undefined : url(name, value);
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max}`);
  }
  return parsed;
}

function boolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, 'must be true or false');
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
}

/** proxy-addr's named ranges, which Fastify accepts beside addresses and CIDRs. */
const TRUST_PROXY_PRESETS = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxy(value: string | undefined): Config['trustProxy'] {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return integer('BREVET_TRUST_PROXY', value, 0, 0, 100);
  // Checked here, or a typo would stop Fastify later with an error that names no variable.
  const entries = list(value);
  const wrong = entries.find((entry) => !TRUST_PROXY_PRESETS.includes(entry) && !ipaddr.isValid(entry) && !ipaddr.isValidCIDR(entry));
  if (wrong !== undefined || entries.length === 0) {
    throw new ConfigError('BREVET_TRUST_PROXY', 'must be true, false, a hop count, or addresses/CIDRs separated by commas');
  }
  return entries;
}
