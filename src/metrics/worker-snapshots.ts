import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** How often a worker publishes its metrics, and how long a published snapshot outlives its worker. */
const PUBLISH_EVERY_MS = 10_000;
const SNAPSHOT_TTL_SECONDS = 60;

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Worker-observed metrics reach the API's /metrics through Redis (SPEC §9: one scrape target
 * lists them all). Each worker writes its registry as JSON under a key of its own that expires,
 * so a stopped worker's numbers fall out a minute later; the API adds up every snapshot with
 * its own values when scraped.
 */
export interface MetricsSnapshots {
  /** Worker side: publish now and every 10 s until `stop`, which publishes a last time. */
  publishEvery(registry: Registry): { stop(): Promise<void> };
  /** API side: the registries' values merged with every live worker's snapshot. */
  merged(registries: Registry[]): Promise<Registry>;
  close(): void;
}

export function createMetricsSnapshots(redisUrl: string, prefix: string): MetricsSnapshots {
  // Its own connection, failing within a second: a scrape must not hang on a Redis that is down
  // (it then shows this process's own values only).
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 1_000 });
  redis.on('error', () => {});
  const keyPrefix = `${prefix}:metrics:worker:`;
  const key = `${keyPrefix}${hostname()}:${process.pid}`;

  const publish = async (registry: Registry) => {
    await redis.set(key, JSON.stringify(await registry.getMetricsAsJSON()), 'EX', SNAPSHOT_TTL_SECONDS);
  };

  return {
    publishEvery(registry) {
      const timer = setInterval(() => void publish(registry).catch(() => {}), PUBLISH_EVERY_MS);
      timer.unref();
      void publish(registry).catch(() => {});
      return {
        async stop() {
          clearInterval(timer);
          await publish(registry).catch(() => {});
        },
      };
    },
    async merged(registries) {
      const own = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
      const snapshots = await readSnapshots(redis, keyPrefix).catch(() => [] as Snapshot[]);
      return AggregatorRegistry.aggregate([...own, ...snapshots] as Parameters<typeof AggregatorRegistry.aggregate>[0]);
    },
    close() {
      redis.disconnect();
    },
  };
}

async function readSnapshots(redis: Redis, keyPrefix: string): Promise<Snapshot[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 100);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.filter((value): value is string => value !== null).map((value) => JSON.parse(value) as Snapshot);
}
