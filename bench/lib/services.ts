import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const ADMIN_URL = process.env['TEST_DATABASE_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * The benchmark's processes use their own Redis database (not 0), so their queue and counters never
 * meet a Brevet or a test run on the same server; it must hold nothing but Brevet keys at the start
 * (an interrupted run's) and is emptied after.
 */
export const BENCH_REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/9';

export async function sql(url: string, statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database of its own, dropped after (BENCH_KEEP_DB keeps it for a look). */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `brevet_bench_${label}_${randomBytes(4).toString('hex')}`;
  await sql(ADMIN_URL, `create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (process.env['BENCH_KEEP_DB'] !== undefined) return console.log(`  kept database ${name}`);
      await sql(ADMIN_URL, `drop database if exists ${name} with (force)`);
    },
  };
}

/** The bench Redis database, checked empty; `hz` raised to 100 as README "Production" says (restored after). */
export async function openBenchRedis(): Promise<{ release(): Promise<void> }> {
  const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: null });
  // Keys under `brevet:` are what an interrupted run left behind; anything else is someone else's.
  if ((await redis.keys('*')).some((key) => !key.startsWith('brevet:'))) {
    await redis.quit();
    throw new Error(`${BENCH_REDIS_URL} is not empty: the benchmark will not share it (set BENCH_REDIS_URL)`);
  }
  await redis.flushdb();
  const [, hz] = (await redis.config('GET', 'hz')) as [string, string];
  await redis.config('SET', 'hz', '100');
  return {
    async release() {
      await redis.flushdb();
      await redis.config('SET', 'hz', hz);
      await redis.quit();
    },
  };
}

export async function versions(databaseUrl: string): Promise<string> {
  const server = (await sql(databaseUrl, 'show server_version')).rows[0] as { server_version: string };
  const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: null });
  const info = await redis.info('server');
  await redis.quit();
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  return `PostgreSQL ${server.server_version}, Redis ${redisVersion}`;
}
