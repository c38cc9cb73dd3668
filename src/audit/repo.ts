import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, lt, lte, max, min, sql, type SQL } from 'drizzle-orm';
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

type Order = 'asc' | 'desc';


/** Keyset page over the monotonic id: stable while events are appended. */
export async function pageAuditEvents(
  db: Executor,
  filters: AuditFilters,
  page: { afterId?: bigint | undefined; limit: number; order: Order },
): Promise<AuditRow[]> {
  if (filters.from === undefined && filters.to === undefined) {
    // Every other filter has an index on (column, id): PostgreSQL reads it in id order and stops at the limit.
    return db
      .select()
      .from(auditEvents)
      .where(and(auditConditions(filters), page.afterId === undefined ? undefined : page.order === 'asc' ? gt(auditEvents.id, page.afterId) : lt(auditEvents.id, page.afterId)))
      .orderBy(page.order === 'asc' ? asc(auditEvents.id) : desc(auditEvents.id))
      .limit(page.limit);
  }
  return timeFilteredPage(db, filters, page.afterId, page.limit, page.order);
}

/** Rows (of those the equality filters select) the first, bounded walk of a time-filtered page reads at most. */
const FIRST_WALK = 2_000;
/** Up to this many rows, reading them all is cheap enough (a few milliseconds) not to look further. */
const FEW = 20_000;
/** Index entries a count reads at most. */
const COUNT_CAP = 100_000;
/** The walk reads the table for each row; the sort reads index entries, about this many times faster. */
const SORT_ADVANTAGE = 2;

/**
 * A page of a time-filtered query, exactly what the plain keyset query returns (occurredAt in
 * [from, to), id order), without its worst case.
 *
 * The plain query makes PostgreSQL walk the id index (or a (column, id) index) from the cursor and
 * test occurredAt on each row. It expects matches to be spread evenly over the ids, but they are
 * bunched (ids roughly follow time): for a day ninety days back it walks past every later event
 * first, and on the last page down to the very first event to prove there is nothing more. The
 * other exact way reads the matches from the (occurred_at, id) index, whose entries carry the id,
 * and sorts the ids: its cost is the number of matches. Neither wins everywhere (newest first, the
 * last hour is a few rows for the walk and a past day a few thousand for the sort), and no id bound
 * can be derived from the time range: occurredAt is not guaranteed to follow the id. So the page
 * is found in steps, each bounded, choosing with counts read in indexes:
 *
 * 1. the walk over the next FIRST_WALK rows the equality filters select: it answers at once where
 *    matches are dense (recent events newest first, any page after the first of a long range);
 * 2. if the equality filters leave few rows, the walk over all of them;
 * 3. if the time range leaves few matches, they are sorted;
 * 4. otherwise the events the walk would pass before reaching the range are counted too (newest
 *    first, those after it; oldest first, those before it), and the cheaper way runs.
 *
 * Everything is bounded by the newest id read first: ids are assigned and committed in order under
 * the chain lock, so no event at or below it can still appear, and every step sees the same events.
 */
async function timeFilteredPage(db: Executor, filters: AuditFilters, afterId: bigint | undefined, limit: number, order: Order): Promise<AuditRow[]> {
  const asc_ = order === 'asc';
  const byId = asc_ ? asc(auditEvents.id) : desc(auditEvents.id);
  const conditions = auditConditions(filters);
  const equality = auditConditions({ actor: filters.actor, action: filters.action, requestId: filters.requestId, profileId: filters.profileId });
  const inRange = auditConditions({ from: filters.from, to: filters.to });

  // The ends of the trail, and where the first walk ends: the FIRST_WALK-th row past the cursor.
  const cursor = afterId === undefined ? undefined : asc_ ? gt(auditEvents.id, afterId) : lt(auditEvents.id, afterId);
  const walkEnd = db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(and(equality, cursor))
    .orderBy(byId)
    .offset(FIRST_WALK - 1)
    .limit(1);
  const [ends] = await db
    .select({ low: min(auditEvents.id), high: max(auditEvents.id), walkEnd: sql<bigint | null>`(${walkEnd})`.mapWith(auditEvents.id) })
    .from(auditEvents);
  if (ends?.low == null || ends.high == null) return [];
  const { low, high } = ends;
  // `next`: the first id left to read, in the reading order (inclusive); `end`: the last id there is.
  let next = asc_ ? low : high;
  const end = asc_ ? high : low;
  if (afterId !== undefined) {
    if (asc_ ? afterId >= high : afterId <= low) return [];
    if (asc_ ? afterId >= low : afterId <= high) next = asc_ ? afterId + 1n : afterId - 1n;
  }
  const between = (a: bigint, b: bigint) => (asc_ ? and(gte(auditEvents.id, a), lte(auditEvents.id, b)) : and(lte(auditEvents.id, a), gte(auditEvents.id, b)));
  const others = auditConditions({ from: filters.from, to: filters.to, requesterId: filters.requesterId });
  /**
   * The walk over the first `rows` rows of `ids` the equality filters select, in id order, keeping
   * the first `take` that pass the other filters. Read through the (column, id) index of an
   * equality filter, the ids come from the index alone and only those rows are fetched: PostgreSQL
   * would rather walk the id index and test the column on every row, which reads far more.
   */
  const walk = (ids: SQL | undefined, rows: number, take: number) => {
    if (equality === undefined) return db.select().from(auditEvents).where(and(others, ids)).orderBy(byId).limit(take);
    const walked = db.select({ id: auditEvents.id }).from(auditEvents).where(and(equality, ids)).orderBy(byId).limit(rows).as('walked');
    return db
      .select(getTableColumns(auditEvents))
      .from(walked)
      .innerJoin(auditEvents, eq(auditEvents.id, walked.id))
      .where(others)
      .orderBy(asc_ ? asc(walked.id) : desc(walked.id))
      .limit(take);
  };

  // 1. The first walk.
  const last = ends.walkEnd === null ? end : asc_ ? min_(max_(ends.walkEnd, next), end) : max_(min_(ends.walkEnd, next), end);
  const found = await walk(between(next, last), FIRST_WALK, limit);
  if (found.length === limit || last === end) return found;
  next = asc_ ? last + 1n : last - 1n;
  const rest = between(next, end);
  const take = limit - found.length;

  // 2. Few rows selected by the equality filters: walk them all.
  if (equality !== undefined && (await countRows(db, and(equality, rest), asc(auditEvents.id), FEW)) <= FEW) {
    return [...found, ...(await walk(rest, FEW, take))];
  }

  // 3. Few matches of the time range: sort them.
  const matches = await countRows(db, and(inRange, rest), asc(auditEvents.occurredAt), COUNT_CAP);
  const sort = async () => [...found, ...(await sortedMatches(db, and(conditions, rest), matches, take, order))];
  if (matches <= FEW || matches < take) return sort();

  // 4. Many: the walk passes the events on the far side of the range first. Whichever reads less
  // runs; when both would read a lot, the walk (PostgreSQL's own plan).
  const far = asc_ ? filters.from : filters.to;
  if (matches <= COUNT_CAP && far !== undefined) {
    const farSide = asc_ ? lt(auditEvents.occurredAt, far) : gte(auditEvents.occurredAt, far);
    const passed = await countRows(db, and(farSide, rest), asc(auditEvents.occurredAt), Math.ceil(matches / SORT_ADVANTAGE));
    if (passed * SORT_ADVANTAGE > matches) return sort();
  }
  return [...found, ...(await db.select().from(auditEvents).where(and(conditions, rest)).orderBy(byId).limit(take))];
}

const min_ = (a: bigint, b: bigint) => (a < b ? a : b);
const max_ = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * How many rows satisfy `where`, counting at most `cap` + 1. Ordered by the column of an index
 * that holds every column of `where` (occurred_at or a filter column, then id), the count reads
 * only that index and stops at the cap.
 */
async function countRows(db: Executor, where: SQL | undefined, by: SQL, cap: number): Promise<number> {
  const rows = db.select({ id: auditEvents.id }).from(auditEvents).where(where).orderBy(by).limit(cap + 1).as('counted');
  const [counted] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(rows);
  return counted?.n ?? 0;
}

/**
 * The first `take` events of `where` in id order, found by reading all its matches, known to be
 * at most `atMost`, and sorting their ids; then only those events are fetched.
 */
async function sortedMatches(db: Executor, where: SQL | undefined, atMost: number, take: number, order: Order): Promise<AuditRow[]> {
  // Ordered by occurred_at and limited (to more than there are), the matches are read through
  // (occurred_at, id): without this, PostgreSQL would walk the id index again.
  const all = db.select({ id: auditEvents.id }).from(auditEvents).where(where).orderBy(asc(auditEvents.occurredAt)).limit(atMost + 1).as('all_matches');
  const firstIds = db
    .select({ id: all.id })
    .from(all)
    .orderBy(order === 'asc' ? asc(all.id) : desc(all.id))
    .limit(take);
  return db
    .select()
    .from(auditEvents)
    .where(inArray(auditEvents.id, firstIds))
    .orderBy(order === 'asc' ? asc(auditEvents.id) : desc(auditEvents.id));
}
