import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import pg from 'pg';
import { postgresListener, type ChannelListener } from './listener.js';
import * as schema from './schema.js';

/** One handle type for both drivers, so repositories do not care which one runs. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /**
   * node-postgres's pool behind `db` (PostgreSQL only), for the reads drizzle cannot do: a COPY
   * streamed to the audit verification.
   */
  pool?: pg.Pool;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  /** A LISTEN on `channel` (its own connection for PostgreSQL), started on first use. */
  listener(channel: string): ChannelListener;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Arbitrary constant: serialises migrations when several processes start at once. */
const MIGRATION_LOCK_ID = 7_301_922;

export function openPostgres(url: string, options: { max?: number } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: 5_000 });
  // A client that loses its connection must not crash the process: idle, the pool replaces it; in
  // use, its query fails (the caller sees that) and the pool discards it on release.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    pool,
    async migrate() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        await migratePg(drizzlePg(client), { migrationsFolder });
      } finally {
        await client.end();
      }
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    listener: (channel) => postgresListener(url, channel),
    async close() {
      await pool.end();
    },
  };
}
