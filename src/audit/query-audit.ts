import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import { pageAuditEvents, type AuditFilters } from './repo.js';
import { auditView } from './view.js';

export interface AuditQuery extends Omit<AuditFilters, 'requesterId'> {
  cursor?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

/** Auditors and admins read everything; anyone else only the events of their own requests (SPEC §6). */
export function visibleFilters(caller: Caller, filters: Omit<AuditFilters, 'requesterId'>): AuditFilters {
  return caller.isAdmin || caller.isAuditor ? filters : { ...filters, requesterId: caller.id };
}

export async function queryAudit(deps: { db: Db }, caller: Caller, query: AuditQuery) {
  const { cursor, limit, order, ...filters } = query;
  const rows = await pageAuditEvents(deps.db, visibleFilters(caller, filters), {
    afterId: cursor === undefined ? undefined : parseCursor(cursor),
    limit: limit + 1,
    order,
  });
  const items = rows.slice(0, limit).map(auditView);
  return { items, nextCursor: rows.length > limit ? items.at(-1)!.id : null };
}

/** The largest id a PostgreSQL bigint can hold: a cursor past it would make the query fail, not just match nothing. */
const MAX_ID = 2n ** 63n - 1n;

function parseCursor(cursor: string): bigint {
  if (!/^\d{1,19}$/.test(cursor) || BigInt(cursor) > MAX_ID) {
    throw new Problem('validation', '/querystring/cursor is not valid', { errors: [{ field: '/querystring/cursor', message: 'is not valid' }] });
  }
  return BigInt(cursor);
}
