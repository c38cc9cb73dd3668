import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * At most `limit` calls in any window of `windowMs`, per key, for every process that shares it
 * (CloudTrail LookupEvents allows 2 calls per second per account and region, SPEC §13).
 */
export interface CallLimiter {
  /** Waits until a call under `key` may be made, and counts it. */
  acquire(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A sliding-window log in a Redis sorted set, judged by Redis's own clock (TIME) so the workers'
 * clocks do not matter: a call is admitted when fewer than `limit` were admitted in the last
 * window; otherwise the script answers how long until the oldest leaves it.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now + 1)
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createRedisCallLimiter(redis: Redis, namespace: string, limit: number, windowMs: number): CallLimiter {
  return {
    async acquire(key) {
      for (;;) {
        const waitMs = Number(await redis.eval(ACQUIRE, 1, `${namespace}${key}`, windowMs, limit, randomUUID()));
        if (waitMs === 0) return;
        await sleep(waitMs);
      }
    },
    async close() {
      await redis.quit().catch(() => {});
    },
  };
}

/** The same rule in this process's memory: dev mode, where one process makes every call. */
export function createMemoryCallLimiter(limit: number, windowMs: number): CallLimiter {
  const admitted = new Map<string, number[]>();
  return {
    async acquire(key) {
      for (;;) {
        const now = Date.now();
        const recent = (admitted.get(key) ?? []).filter((at) => at > now - windowMs);
        if (recent.length < limit) {
          admitted.set(key, [...recent, now]);
          return;
        }
        admitted.set(key, recent);
        await sleep(recent[0]! + windowMs - now + 1);
      }
    },
    async close() {},
  };
}
