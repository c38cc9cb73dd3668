import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AwsIdentity } from '../adapters/aws/identity.js';
import { StsFailure } from '../adapters/aws/errors.js';
import type { Db } from '../db/client.js';
import { principalsExistInGroups } from '../principals/repo.js';

/** One line of the start-up report: what was found and, for a problem, the fix. */
export interface Finding {
  level: 'info' | 'warn';
  check: string;
  message: string;
}

/** Redis's settings as CONFIG GET reports them; undefined where CONFIG is disabled (managed Redis). */
export interface RedisSettings {
  maxmemoryPolicy: string | undefined;
  hz: number | undefined;
}

/** BullMQ loses jobs under any eviction policy but noeviction; `hz` bounds how late delayed jobs fire. */
export function redisFindings(settings: RedisSettings): Finding[] {
  const findings: Finding[] = [];
  if (settings.maxmemoryPolicy !== undefined && settings.maxmemoryPolicy !== 'noeviction') {
    findings.push({
      level: 'warn',
      check: 'redis-maxmemory-policy',
      message: `Redis maxmemory-policy is ${settings.maxmemoryPolicy}: BullMQ requires noeviction, or Redis may evict queued jobs under memory pressure (the database sweep then catches up, up to 5 s late). Fix: CONFIG SET maxmemory-policy noeviction, and in redis.conf`,
    });
  }
  if (settings.hz !== undefined && settings.hz < 100) {
    findings.push({
      level: 'info',
      check: 'redis-hz',
      message: `Redis hz is ${settings.hz}: delayed jobs (window starts and ends) fire up to ~${Math.round(1000 / settings.hz)} ms late; hz 100 brings that to ~10 ms (redis-server --hz 100)`,
    });
  }
  return findings;
}

/** Nobody can administer Brevet: no enabled admin, and nothing that would install or admit one. */
export function adminFinding(state: { adminExists: boolean; bootstrapKeySet: boolean; oidc: boolean; adminGroups: readonly string[] }): Finding | undefined {
  if (state.adminExists) return undefined;
  const groups = state.adminGroups.join(', ');
  if (state.oidc) {
    return { level: 'info', check: 'admin', message: `no enabled administrator in the database yet: members of ${groups} who sign in with OIDC are administrators` };
  }
  return {
    level: 'warn',
    check: 'admin',
    message: state.bootstrapKeySet
      ? `NO ADMINISTRATOR: the database has no enabled principal in ${groups}, and BREVET_BOOTSTRAP_ADMIN_KEY is not used again once a bootstrap admin was installed. Fix: re-enable an administrator, or configure OIDC (OIDC_ISSUER, OIDC_AUDIENCE) and sign in as a member of ${groups}`
      : `NO ADMINISTRATOR: the database has no enabled principal in ${groups} and BREVET_BOOTSTRAP_ADMIN_KEY is empty, so nobody can sign in to manage Brevet. Fix: set BREVET_BOOTSTRAP_ADMIN_KEY (32+ characters of [A-Za-z0-9_-]) and restart, or configure OIDC and sign in as a member of ${groups}`,
  };
}

export interface SelfCheckDeps {
  db: Db;
  logger: Logger;
  awsIdentity: AwsIdentity;
  config: { redisUrl: string | undefined; bootstrapAdminKey: string | undefined; oidc: unknown; adminGroups: readonly string[] };
}

/**
 * The start-up self-checks (issue 15), logged once. They never stop the process: each problem
 * is reported with its fix, and a check that cannot run says so. Bounded: AWS gets 5 s, Redis 2 s.
 */
export async function runSelfChecks(deps: SelfCheckDeps): Promise<Finding[]> {
  const log = deps.logger.child({ component: 'self-check' });
  const findings: Finding[] = [];
  const admin = adminFinding({
    adminExists: await principalsExistInGroups(deps.db, deps.config.adminGroups),
    bootstrapKeySet: deps.config.bootstrapAdminKey !== undefined,
    oidc: deps.config.oidc !== undefined,
    adminGroups: deps.config.adminGroups,
  });
  if (admin !== undefined) findings.push(admin);
  findings.push(await awsFinding(deps.awsIdentity));
  if (deps.config.redisUrl !== undefined) findings.push(...(await readRedisSettings(deps.config.redisUrl).then(redisFindings, (error: unknown) => [redisUnreadable(error)])));
  for (const finding of findings) log[finding.level]({ check: finding.check }, finding.message);
  return findings;
}

async function awsFinding(identity: AwsIdentity): Promise<Finding> {
  try {
    const { arn, account } = await identity.whoAmI(AbortSignal.timeout(5_000));
    return { level: 'info', check: 'aws-identity', message: `Brevet calls AWS as ${arn} (account ${account}); target roles must trust this principal` };
  } catch (error) {
    const reason = error instanceof StsFailure ? `${error.kind}: ${error.message}` : String(error);
    return {
      level: 'warn',
      check: 'aws-identity',
      message: `Brevet cannot call AWS as itself (GetCallerIdentity failed, ${reason}): credential issuance will fail. Fix: give the process AWS credentials (instance or task role, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION`,
    };
  }
}

async function readRedisSettings(url: string): Promise<RedisSettings> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: true });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const config = async (name: string) => {
      // Managed services (ElastiCache, Memorystore) disable CONFIG: that setting is then unknown.
      const reply = (await redis.config('GET', name).catch(() => [])) as string[];
      return reply[1];
    };
    const hz = await config('hz');
    return { maxmemoryPolicy: await config('maxmemory-policy'), hz: hz === undefined ? undefined : Number(hz) };
  } finally {
    redis.disconnect();
  }
}

function redisUnreadable(error: unknown): Finding {
  return { level: 'warn', check: 'redis', message: `could not read Redis's settings: ${error instanceof Error ? error.message : String(error)}` };
}
