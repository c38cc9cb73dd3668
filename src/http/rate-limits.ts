import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Problem } from './problems.js';

export const RATE_WINDOW_MS = 60_000;

/** Probes are never limited: an orchestrator must always see whether the process is up. */
const EXEMPT_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const isExempt = (request: FastifyRequest) => EXEMPT_PATHS.has(request.url.split('?')[0]!);

export interface RateLimitSettings {
  /** Requests per source address per minute, every request counted before authentication; 0: off. */
  perMinute: number;
  /** Failed authentications per source address, and per presented credential, per minute; 0: off. */
  authFailuresPerMinute: number;
  /** Shared counters (production); absent: counters in this process's memory (dev mode). */
  store: { redis: Redis; namespace: string } | undefined;
}

/**
 * The Redis connection of the limiter. It fails fast instead of queueing: with Redis unreachable a
 * counter call fails within `commandTimeout` and the request goes through unlimited (fail-open,
 * README "Security notes"), never waits on Redis and never becomes a 500.
 */
export function createRateLimitRedis(url: string, logger: Pick<Logger, 'warn' | 'info'>): Redis {
  // Lazy: only a process that installs the limits (the API, not the worker) connects.
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2_000, commandTimeout: 500 });
  let down = false;
  const wentDown = (error?: Error) => {
    if (down) return;
    down = true;
    logger.warn({ err: error }, 'rate limits: Redis unreachable, requests are not limited until it is back (fail-open)');
  };
  redis.on('error', (error: Error) => wentDown(error));
  // A connection the server closes is not always an 'error' (no ECONNRESET when it ends cleanly):
  // ioredis then only schedules a reconnect, which is as much a lost Redis for the limiter.
  redis.on('reconnecting', () => wentDown());
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('rate limits: Redis is back, limits are shared again');
  });
  return redis;
}

/**
 * Installs the limits (SPEC §9 BREVET_RATE_LIMIT_PER_MINUTE; issue 10 item 2). Both run as root
 * `onRequest` hooks, so before authentication and before any key lookup:
 * - every request counts against its source address's budget;
 * - a source address, or a presented credential, whose failed authentications (any 401) used up
 *   their budget is refused with 429 before its credential is looked at. Failures are counted
 *   before the 401 is sent, so a client taking turns never gets more than the budget of lookups.
 * Must be called before the routes it covers are registered.
 */
export async function installRateLimits(app: FastifyInstance, settings: RateLimitSettings): Promise<void> {
  if (settings.perMinute === 0 && settings.authFailuresPerMinute === 0) return;
  if (settings.store !== undefined) await connectOrGiveUp(settings.store.redis);
  await app.register(rateLimit, {
    global: false,
    max: settings.perMinute,
    timeWindow: RATE_WINDOW_MS,
    allowList: isExempt,
    skipOnError: true,
    ...(settings.store === undefined ? {} : { redis: settings.store.redis, nameSpace: settings.store.namespace }),
    errorResponseBuilder: (_request, context) => new Problem('rate-limited', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`),
  });
  if (settings.perMinute > 0) app.addHook('onRequest', app.rateLimit());
  if (settings.authFailuresPerMinute > 0) installAuthFailureLimit(app, settings.authFailuresPerMinute);
}

function installAuthFailureLimit(app: FastifyInstance, max: number): void {
  const bySource = app.createRateLimit({
    max,
    timeWindow: RATE_WINDOW_MS,
    skipOnError: true,
    keyGenerator: (request) => `auth-failures:source:${normalizeIP(request.ip)}`,
  });
  const byCredential = app.createRateLimit({
    max,
    timeWindow: RATE_WINDOW_MS,
    skipOnError: true,
    keyGenerator: (request) => `auth-failures:credential:${credentialFingerprint(request)}`,
  });
  const limitersOf = (request: FastifyRequest) => (credentialFingerprint(request) === undefined ? [bySource] : [bySource, byCredential]);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isExempt(request)) return;
    for (const limiter of limitersOf(request)) {
      const state = await limiter(request, { increment: false });
      if (!state.isAllowed && state.remaining === 0) {
        void reply.header('retry-after', Math.max(1, state.ttlInSeconds));
        throw new Problem('rate-limited', `too many failed authentications; retry in ${Math.max(1, state.ttlInSeconds)} s`);
      }
    }
  });
  app.addHook('onSend', async (request, reply) => {
    if (reply.statusCode !== 401) return;
    await Promise.all(limitersOf(request).map((limiter) => limiter(request)));
  });
}

/**
 * Names a presented Bearer credential without keeping it: a short SHA-256 prefix. A leaked key of a
 * disabled principal, tried from many addresses, is then limited as one. (Brevet keys carry no
 * separate key id, so the whole credential is what identifies one.)
 */
function credentialFingerprint(request: FastifyRequest): string | undefined {
  const credential = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
  return credential === undefined ? undefined : createHash('sha256').update(credential).digest('hex').slice(0, 32);
}

/** Waits briefly for the first connection so the first requests are counted; never fails the boot. */
async function connectOrGiveUp(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, 2_000);
    redis.once('ready', done);
    // Failures are logged by the 'error' listener; ioredis keeps reconnecting in the background.
    if (redis.status === 'wait') redis.connect().catch(() => {});
  });
}
