import path from 'node:path';
import { loadConfig } from '../config.js';
import { openPostgres } from './client.js';

/** `npm run migrate`: applies the migrations to DATABASE_URL, or to the dev-mode PGlite database. */
const config = loadConfig();
const database =
  config.databaseUrl !== undefined
    ? openPostgres(config.databaseUrl, { max: 1 })
    : (await import('./pglite.js')).openPglite(path.join(config.dataDir, 'pgdata'));
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
