// Dev mode's embedded database, in a module of its own: production (DATABASE_URL) never loads
// PGlite or its drizzle driver.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrationsFolder, type Database, type Db } from './client.js';
import { pgliteListener } from './listener.js';
import { loadPgliteTemplate } from './pglite-template.js';
import * as schema from './schema.js';

/**
 * Dev mode: an embedded PostgreSQL (WASM) under dataDir, or in memory when dataDir is undefined.
 * A new cluster starts from the committed initdb template when there is one for this PGlite.
 */
export function openPglite(dataDir: string | undefined): Database {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const fresh = dataDir === undefined || !existsSync(path.join(dataDir, 'PG_VERSION'));
  const template = fresh ? loadPgliteTemplate() : undefined;
  const client = new PGlite(dataDir, template === undefined ? {} : { loadDataDir: template });
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder });
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    listener: (channel) => pgliteListener(client, channel),
    async close() {
      await client.close();
    },
  };
}
