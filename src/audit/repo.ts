import { and, asc, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../principals/repo.js';
import { auditEvents, requests } from '../db/schema.js';

export type AuditRow = typeof auditEvents.$inferSelect;

export interface AuditFilters {
  actor?: string | undefined;
  action?: string | undefined;
  requestId?: string | undefined;
  profileId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Only events of requests made by this principal (what a requester may read). */
  requesterId?: string | undefined;
}

export function auditConditions(filters: AuditFilters): SQL | undefined {
  const conditions: (SQL | undefined)[] = [
    filters.actor === undefined ? undefined : eq(auditEvents.actorId, filters.actor),
    filters.action === undefined ? undefined : eq(auditEvents.action, filters.action),
    filters.requestId === undefined ? undefined : eq(auditEvents.requestId, filters.requestId),
    filters.profileId === undefined ? undefined : eq(auditEvents.profileId, filters.profileId),
    filters.from === undefined ? undefined : gte(auditEvents.occurredAt, filters.from),
    filters.to === undefined ? undefined : lt(auditEvents.occurredAt, filters.to),
  ];
  if (filters.requesterId !== undefined) {
    const own = sql`select ${requests.id} from ${requests} where ${requests.requesterId} = ${filters.requesterId}`;
    conditions.push(sql`${auditEvents.requestId} in (${own})`);
  }
  return and(...conditions);
}

/** Keyset page over the monotonic id: stable while events are appended. */
export async function pageAuditEvents(
  db: Executor,
  filters: AuditFilters,
  page: { afterId?: bigint | undefined; limit: number; order: 'asc' | 'desc' },
): Promise<AuditRow[]> {
  const keyset =
    page.afterId === undefined ? undefined : page.order === 'asc' ? gt(auditEvents.id, page.afterId) : lt(auditEvents.id, page.afterId);
  return db
    .select()
    .from(auditEvents)
    .where(and(auditConditions(filters), keyset))
    .orderBy(page.order === 'asc' ? asc(auditEvents.id) : desc(auditEvents.id))
    .limit(page.limit);
}
