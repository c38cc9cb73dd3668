import { readFile, writeFile } from 'node:fs/promises';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPglite } from '../src/db/pglite.js';
import { buildDeps } from '../src/deps.js';
import { createLogger } from '../src/logging.js';

/**
 * Writes openapi/openapi.json from the route schemas; with --check, fails when the committed
 * file differs (CI runs that). Builds the app on an in-memory database: nothing is served.
 */
const target = new URL('../openapi/openapi.json', import.meta.url);
const check = process.argv.includes('--check');

const config = loadConfig({ BREVET_DATA_DIR: '/nonexistent-unused' });
const logger = createLogger('silent');
const deps = buildDeps(config, logger, { database: openPglite(undefined) });
const app = await buildApp(deps);
await app.ready();
const document = `${JSON.stringify(app.swagger(), null, 2)}\n`;
await app.close();
await deps.close();

if (check) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== document) {
    console.error('openapi/openapi.json is stale: run `npm run openapi` and commit the result.');
    process.exit(1);
  }
  console.log('openapi/openapi.json is up to date');
} else {
  await writeFile(target, document);
  console.log('wrote openapi/openapi.json');
}
