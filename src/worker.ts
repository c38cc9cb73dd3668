import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from './config.js';
import { buildDeps } from './deps.js';
import { createLogger } from './logging.js';

/**
 * Process entry of the worker: runs the timed jobs from Redis (BullMQ). It needs DATABASE_URL
 * and REDIS_URL; dev mode runs its timed work inside the API process instead.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`brevet worker: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (config.databaseUrl === undefined || config.redisUrl === undefined) {
    process.stderr.write('brevet worker: configuration error: DATABASE_URL and REDIS_URL are required for the worker\n');
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  const deps = buildDeps(config);
  await deps.database.migrate();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  await redis.ping();
  logger.info('worker connected to PostgreSQL and Redis');

  const shutdown = async () => {
    await redis.quit();
    await deps.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`brevet worker: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
