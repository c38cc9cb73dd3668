import { loadConfig } from '../src/config.js';
import { openPostgres } from '../src/db/client.js';
import { seedAuditEvents } from './seed-audit-events.js';

/** `npm run seed:audit -- 1000000`: fills DATABASE_URL's audit trail with realistic, chained events. */
const count = Number(process.argv[2] ?? '1000000');
if (!Number.isInteger(count) || count < 1) {
  console.error('usage: npm run seed:audit -- <number of events>');
  process.exit(1);
}
const config = loadConfig();
if (config.databaseUrl === undefined) {
  console.error('DATABASE_URL is required (the seed targets PostgreSQL)');
  process.exit(1);
}
const database = openPostgres(config.databaseUrl, { max: 1 });
await database.migrate();
await database.close();
const started = Date.now();
await seedAuditEvents(config.databaseUrl, count, (line) => console.log(line));
console.log(`seeded ${count} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
