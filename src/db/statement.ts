import { sql, type SQL } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Db, Tx } from './client.js';

/** SQL a hot path sends as it is, written once: no query builder runs per call. */
export interface Statement {
  /** The prepared statement's name on PostgreSQL (unique per text). */
  name: string;
  /** The SQL, its parameters `$1`, `$2`, … */
  text: string;
}

type RawClient = pg.Pool | { query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }> };

/**
 * Runs one statement. Outside a transaction on PostgreSQL it is a named prepared statement: parsed
 * once per connection, then only bound and executed, in one round trip, and PostgreSQL commits it
 * by itself. PGlite (dev mode) takes the text as it is. A transaction runs it as its other queries,
 * and its rows come as drizzle's driver gives them (timestamps as text): read rows outside one.
 */
export async function runStatement<T>(db: Db | Tx, statement: Statement, values: readonly unknown[]): Promise<T[]> {
  if (db instanceof PgTransaction) return (await db.execute(statementSql(statement.text, values))).rows as T[];
  const client = (db as unknown as { $client: RawClient }).$client;
  if (client instanceof pg.Pool) return (await client.query<T & pg.QueryResultRow>({ name: statement.name, text: statement.text, values: [...values] })).rows;
  return (await client.query<T>(statement.text, [...values])).rows;
}

/** The statement as drizzle SQL: each `$n` becomes a parameter holding values[n - 1]. */
function statementSql(text: string, values: readonly unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  const chunks: SQL[] = [];
  parts.forEach((part, i) => chunks.push(i % 2 === 0 ? sql.raw(part) : sql`${sql.param(values[Number(part) - 1])}`));
  return sql.join(chunks);
}
