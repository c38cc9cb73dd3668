import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createPolicyAnalyzer, type PolicyAnalyzer } from './adapters/aws/access-analyzer.js';
import { createFederationSignIn, type ConsoleSignIn } from './adapters/aws/federation.js';
import { createIamPolicyStore, type RolePolicyStore } from './adapters/aws/iam.js';
import { createTrailLookup, type TrailLookup } from './adapters/aws/cloudtrail.js';
import { createMemoryCallLimiter, createRedisCallLimiter, type CallLimiter } from './lib/call-limiter.js';
import { redisConnection } from './jobs/queue.js';
import { createRolePermissions, type RolePermissions } from './adapters/aws/role-permissions.js';
import { createAwsIdentity, type AwsIdentity } from './adapters/aws/identity.js';
import { createStsIssuer, type AwsClientOptions, type CredentialIssuer } from './adapters/aws/sts.js';
import { systemClock, type Clock } from './adapters/clock.js';
import { createOidcVerifier, type TokenVerifier } from './adapters/oidc.js';
import { createWebhookSender, type WebhookSender } from './adapters/webhook-sender.js';
import type { Config } from './config.js';
import { blockSigner, devSigningKey, type BlockSigner } from './audit/signing-key.js';
import { openPostgres, type Database, type Db } from './db/client.js';
import { createAuthenticator, type Authenticator } from './http/authenticate.js';
import { createRateLimitRedis } from './http/rate-limits.js';
import { createAuthDenialRecorder, type AuthDenialRecorder } from './principals/auth-denials.js';
import { NOTIFY_BACKOFF_MS } from './jobs/catalog.js';
import { createJobQueue, type JobQueue } from './jobs/queue.js';
import { createRequestEffects } from './jobs/request-effects.js';
import type { RequestEffects } from './requests/effects.js';
import { createRequestStatusChanges, REQUEST_STATUS_CHANNEL, type RequestStatusChanges } from './requests/status-changes.js';
import type { SlackDelivery, WebhookConfig } from './webhooks/deliveries.js';
import { deliverToSlack } from './slack/notify-slack.js';
import { createSlackGateway, type SlackGateway } from './adapters/slack.js';
import { createMetrics, type Metrics } from './metrics/catalog.js';
import { observeRequestEffects, timeStsCalls } from './metrics/observe.js';
import { createMetricsSnapshots, type MetricsSnapshots } from './metrics/worker-snapshots.js';
import { createPagerDutyProvider } from './adapters/on-call/pagerduty.js';
import type { OnCallProviders } from './adapters/on-call/provider.js';

/** Everything commands, routes and jobs need, built in one place for the server, the worker and the tests. */
export interface Deps {
  config: Config;
  logger: Logger;
  database: Database;
  db: Db;
  clock: Clock;
  authenticator: Authenticator;
  /** Audits refused authentications (auth.denied), a flood folded into one summary per window. */
  authDenials: AuthDenialRecorder;
  /** BullMQ when REDIS_URL is set; absent in dev mode, where the reconciler polls instead. */
  scheduler: JobQueue | undefined;
  effects: RequestEffects;
  /** Wakes long-polls on committed status changes from any process; listens only once something waits. */
  requestStatusChanges: RequestStatusChanges;
  sts: CredentialIssuer;
  /** Who Brevet runs as in AWS (the start-up self-check). */
  awsIdentity: AwsIdentity;
  rolePolicies: RolePolicyStore;
  /** IAM Access Analyzer's policy checks (SPEC §13); called only when BREVET_EVIDENCE=true. */
  policyAnalyzer: PolicyAnalyzer;
  /** A role's own policies, read through IAM for the sensitive-access check (SPEC §13). */
  rolePermissions: RolePermissions;
  /** Tests shorten the sensitive-access check's budget (8 s). */
  evidenceBudgetMs?: number;
  /** CloudTrail LookupEvents for activity reports (SPEC §13). */
  trailLookup: TrailLookup;
  /** 2 LookupEvents calls per second per account and region, shared through Redis by every worker. */
  trailLimiter: CallLimiter;
  consoleSignIn: ConsoleSignIn;
  webhookSender: WebhookSender;
  webhooks: WebhookConfig;
  /** Slack Web API, when SLACK_BOT_TOKEN is set. */
  slack: SlackGateway | undefined;
  /** Sends Slack deliveries (message sync, requester DMs) when Slack is configured. */
  slackDelivery: SlackDelivery | undefined;
  /** Where the rate-limit counters live: Redis shared by every API process, or (absent) this process's memory. */
  rateLimitStore: { redis: Redis; namespace: string } | undefined;
  /** The brevet_* metrics this process observes (src/metrics/catalog.ts). */
  metrics: Metrics;
  /** Worker metrics shared through Redis, so the API's /metrics shows them; absent without Redis. */
  metricsSnapshots: MetricsSnapshots | undefined;
  /** Who is on call, per provider a profile's approval.onCall may name (SPEC §12); PagerDuty with PAGERDUTY_TOKEN. */
  onCall: OnCallProviders;
  /** On-call lookups that failed or ran out of their budget (metrics.onCallFailures): never the requester's error. */
  onCallFailures: Metrics['onCallFailures'];
  /** Tests shorten the on-call budget (3 s) to see a hanging provider given up. */
  onCallBudgetMs?: number;
  /** Signs sealed audit blocks (SPEC §11); absent in production without BREVET_AUDIT_SIGNING_KEY (blocks sealed unsigned). */
  auditSigner: BlockSigner | undefined;
  /** Probes of services beyond the database, for /readyz. */
  readinessChecks: Record<string, () => Promise<void>>;
  close(): Promise<void>;
}

export interface DepsOverrides {
  clock?: Clock;
  database?: Database;
  tokenVerifier?: TokenVerifier;
  /** Tests shorten the AWS timeouts and retries; production keeps the defaults. */
  aws?: AwsClientOptions;
  /** Tests give each run its own Redis key prefix (queue and rate-limit counters). */
  queuePrefix?: string;
  /** Tests shorten the webhook retry delays. */
  notifyBackoffMs?: number;
  /** Tests shorten the on-call lookup budget. */
  onCallBudgetMs?: number;
  /** Tests shorten the sensitive-access check's budget. */
  evidenceBudgetMs?: number;
}

/**
 * CloudTrail allows LookupEvents 2 calls per second per account and region; Brevet takes 2 per
 * 1.2 s, the 200 ms left for a permitted call's way to CloudTrail (signing, the network), which
 * may stretch while another went faster.
 */
const LOOKUP_CALLS_PER_WINDOW = 2;
const LOOKUP_WINDOW_MS = 1_200;

/** Dev mode opens its embedded database itself (server.ts) and hands it over; nothing else may run without one. */
function noDatabase(): never {
  throw new Error('no database: set DATABASE_URL (dev mode passes its embedded PGlite database in)');
}

export function buildDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Deps {
  const clock = overrides.clock ?? systemClock;
  const database =
    overrides.database ?? (config.databaseUrl !== undefined ? openPostgres(config.databaseUrl) : noDatabase());
  const tokenVerifier = overrides.tokenVerifier ?? (config.oidc === undefined ? undefined : createOidcVerifier(config.oidc, clock));
  const authDenials = createAuthDenialRecorder({ db: database.db, clock, logger });
  const authenticator = createAuthenticator({
    db: database.db,
    clock,
    roles: { adminGroups: config.adminGroups, auditorGroups: config.auditorGroups },
    tokenVerifier,
    authDenials,
  });
  const notifyBackoffMs = overrides.notifyBackoffMs ?? NOTIFY_BACKOFF_MS;
  const queue =
    config.redisUrl === undefined
      ? undefined
      : createJobQueue({ redisUrl: config.redisUrl, prefix: overrides.queuePrefix, notifyBackoffMs }, clock);
  const rateLimitRedis = config.redisUrl === undefined ? undefined : createRateLimitRedis(config.redisUrl, logger);
  const slack = config.slack.botToken === undefined ? undefined : createSlackGateway(config.slack.botToken, config.slack.apiUrl);
  const webhooks: WebhookConfig = { urls: config.webhookUrls, secret: config.webhookSecret, backoffMs: notifyBackoffMs };
  const { token: pagerDutyToken, apiUrl: pagerDutyUrl } = config.pagerDuty;
  const requestStatusChanges = createRequestStatusChanges(database.listener(REQUEST_STATUS_CHANNEL));
  const metrics = createMetrics();
  const signingKey = config.audit.signingKey ?? (config.databaseUrl === undefined ? devSigningKey(config.dataDir) : undefined);
  if (signingKey === undefined) {
    logger.warn('BREVET_AUDIT_SIGNING_KEY is not set: audit blocks are sealed UNSIGNED, so a database superuser could rewrite the trail undetected. Set it (see .env.example).');
  }
  const redisPrefix = overrides.queuePrefix ?? 'brevet';
  const metricsSnapshots = config.redisUrl === undefined ? undefined : createMetricsSnapshots(config.redisUrl, redisPrefix);
  // CloudTrail's limit is per account and region, whoever calls: a window slightly over 1 s keeps
  // the calls' arrival at AWS inside it despite network jitter. No Redis connection for it while
  // evidence is off (nothing calls CloudTrail then).
  const trailLimiter =
    config.redisUrl === undefined || !config.evidence.enabled
      ? createMemoryCallLimiter(LOOKUP_CALLS_PER_WINDOW, LOOKUP_WINDOW_MS)
      : createRedisCallLimiter(redisConnection(config.redisUrl), `${redisPrefix}:cloudtrail-calls:`, LOOKUP_CALLS_PER_WINDOW, LOOKUP_WINDOW_MS);
  return {
    config,
    logger,
    database,
    db: database.db,
    clock,
    authenticator,
    authDenials,
    scheduler: queue,
    effects: observeRequestEffects(createRequestEffects({ clock, logger, scheduler: queue, webhooks, slack: slack !== undefined, activityReports: config.evidence.enabled }), {
      db: database.db,
      metrics,
    }),
    requestStatusChanges,
    sts: timeStsCalls(createStsIssuer(overrides.aws), metrics),
    awsIdentity: createAwsIdentity(),
    rolePolicies: createIamPolicyStore(overrides.aws),
    policyAnalyzer: createPolicyAnalyzer(overrides.aws),
    rolePermissions: createRolePermissions(overrides.aws),
    trailLookup: createTrailLookup(overrides.aws),
    trailLimiter,
    ...(overrides.evidenceBudgetMs === undefined ? {} : { evidenceBudgetMs: overrides.evidenceBudgetMs }),
    consoleSignIn: createFederationSignIn(config.federationUrl),
    webhookSender: createWebhookSender(),
    webhooks,
    slack,
    slackDelivery:
      slack === undefined
        ? undefined
        : (target, payload) => deliverToSlack({ db: database.db, clock, slack, publicUrl: config.publicUrl }, target, payload),
    rateLimitStore: rateLimitRedis === undefined ? undefined : { redis: rateLimitRedis, namespace: `${redisPrefix}:rate-limit:` },
    metrics,
    metricsSnapshots,
    onCall: pagerDutyToken === undefined ? {} : { pagerduty: createPagerDutyProvider({ apiUrl: pagerDutyUrl, token: pagerDutyToken }) },
    onCallFailures: metrics.onCallFailures,
    ...(overrides.onCallBudgetMs === undefined ? {} : { onCallBudgetMs: overrides.onCallBudgetMs }),
    auditSigner: signingKey === undefined ? undefined : blockSigner(signingKey),
    readinessChecks: queue === undefined ? {} : { redis: () => queue.ping() },
    async close() {
      await authDenials.close().catch((error: unknown) => logger.warn({ err: error }, 'could not write the last auth.denied summaries'));
      await queue?.close();
      await requestStatusChanges.close();
      rateLimitRedis?.disconnect();
      metricsSnapshots?.close();
      await trailLimiter.close();
      await database.close();
    },
  };
}
