import type { Db } from './client.js';

/**
 * A query a hot path runs on every call (authentication, a create), built once per database
 * handle and sent as a named prepared statement: drizzle does not build its SQL again and
 * PostgreSQL does not parse it again on a connection that already has it. A prepared query
 * belongs to the handle it was made on, so transactions build theirs as usual.
 */
export function preparedPerDb<Q>(prepare: (db: Db) => Q): (db: Db) => Q {
  const byDb = new WeakMap<Db, Q>();
  return (db) => {
    let query = byDb.get(db);
    if (query === undefined) {
      query = prepare(db);
      byDb.set(db, query);
    }
    return query;
  };
}
