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
/** Most matches counted and sorted (some 10 ms each); past that, the walk. */
const MAX_SORTED = 100_000;
/** Ids the walk from the nearest match reads at most. */
const NEAREST_WALK = 2_000;
/** Rows an equality filter selects are dense when more than 1 in DENSE ids: reading all ids in order is then cheaper. */
const DENSE = 5;

/**
 * A page of a time-filtered query, exactly what the plain keyset query returns (occurredAt in
 * [from, to), id order), without its worst case.
 *
 * The plain query makes PostgreSQL walk the id index (or a (column, id) index) from the cursor and
 * test occurredAt on each row. It expects matches to be spread evenly over the ids, but they are
 * bunched (ids roughly follow time): for a day ninety days back it walks past every later event
 * first, and on the last page down to the very first event to prove there is nothing more. No id
 * bound can be derived from the time range alone, since occurredAt is not guaranteed to follow the
 * id; but the (occurred_at, id) index holds the ids of the events in the range, and reading them
 * there costs one index entry per event. So the page is found in steps, each bounded:
 *
 * 1. the walk over the next FIRST_WALK rows the equality filters select: it answers at once where
 *    matches are dense (recent events newest first, any page after the first of a long range);
 * 2. if the equality filters leave few rows, the walk over all of them;
 * 3. the events of the time range left are counted in (occurred_at, id), which also gives the
 *    nearest one; if they are too many, the walk (PostgreSQL's own plan, as before);
 * 4. nothing matches before the nearest: the walk from there, over NEAREST_WALK ids;
 * 5. if that does not fill the page, the matches left, few enough, are read and their ids sorted.
 *
 * Everything is bounded by the newest id read first, so every step reads the same range of ids. (Ids are
 * drawn before commit and writers take no common lock: an event committing late with a lower id may
 * appear below a cursor already passed, as in any keyset page; the sealed blocks are the complete record.)
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

  // 2. Few rows selected by the equality filters: walk them all (or, when they are most of the
  // ids left, the ids themselves: reading the table in order is cheaper than fetching row by row).
  const walkRest = async () => [...found, ...(await db.select().from(auditEvents).where(and(conditions, rest)).orderBy(byId).limit(take))];
  if (equality !== undefined) {
    const selected = await countRows(db, and(equality, rest), asc(auditEvents.id), FEW);
    if (selected <= FEW) {
      const ids = asc_ ? end - next + 1n : next - end + 1n;
      return BigInt(selected * DENSE) < ids ? [...found, ...(await walk(rest, FEW, take))] : walkRest();
    }
  }

  // 3. Count the matches of the time range left, and find the nearest one, in the (occurred_at, id)
  // index alone. Too many to sort cheaply: PostgreSQL's own walk.
  const inRangeLeft = capped(db, and(inRange, rest), asc(auditEvents.occurredAt), MAX_SORTED);
  const [counted] = await db
    .select({ n: sql<number>`count(*)`.mapWith(Number), nearest: asc_ ? min(inRangeLeft.id) : max(inRangeLeft.id) })
    .from(inRangeLeft);
  const matches = counted?.n ?? 0;
  const nearest = counted?.nearest ?? null;
  if (nearest === null) return found;
  if (matches > MAX_SORTED) return walkRest();

  // 4. No match lies before the nearest: the walk from there answers where ids follow time.
  const stop = asc_ ? min_(nearest + BigInt(NEAREST_WALK - 1), end) : max_(nearest - BigInt(NEAREST_WALK - 1), end);
  const more = await walk(between(nearest, stop), NEAREST_WALK, take);
  if (more.length === take || stop === end) return [...found, ...more];

  // 5. Otherwise sort the matches left, which are few enough.
  next = asc_ ? stop + 1n : stop - 1n;
  const sorted = await sortedMatches(db, and(conditions, between(next, end)), equality !== undefined, matches, take - more.length, order);
  return [...found, ...more, ...sorted];
}

const min_ = (a: bigint, b: bigint) => (a < b ? a : b);
const max_ = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The ids of at most `cap` + 1 rows satisfying `where`. Ordered by the column of an index that
 * holds every column of `where` (occurred_at or a filter column, then id), they are read from that
 * index alone, up to the cap.
 */
function capped(db: Executor, where: SQL | undefined, by: SQL, cap: number) {
  return db.select({ id: auditEvents.id }).from(auditEvents).where(where).orderBy(by).limit(cap + 1).as('capped');
}

/** How many rows satisfy `where`, counting at most `cap` + 1 (see capped). */
async function countRows(db: Executor, where: SQL | undefined, by: SQL, cap: number): Promise<number> {
  const [counted] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(capped(db, where, by, cap));
  return counted?.n ?? 0;
}

/**
 * The first `take` events of `where` in id order, found by reading all its matches, known to be
 * at most `atMost`, and sorting their ids; then only those events are fetched.
 */
async function sortedMatches(db: Executor, where: SQL | undefined, equality: boolean, atMost: number, take: number, order: Order): Promise<AuditRow[]> {
  // The matches are read in a subquery limited to more than there are, which PostgreSQL plans on
  // its own, without the ORDER BY id that would make it walk the id index again. With a time range
  // only, ordering by occurred_at also makes it read nothing but the (occurred_at, id) index; with
  // equality filters, it typically combines their index with that one.
  const all = db.select({ id: auditEvents.id }).from(auditEvents).where(where);
  const matches = (equality ? all : all.orderBy(asc(auditEvents.occurredAt))).limit(atMost + 1).as('matches');
  const firstIds = db
    .select({ id: matches.id })
    .from(matches)
    .orderBy(order === 'asc' ? asc(matches.id) : desc(matches.id))
    .limit(take);
  return db
    .select()
    .from(auditEvents)
    .where(inArray(auditEvents.id, firstIds))
    .orderBy(order === 'asc' ? asc(auditEvents.id) : desc(auditEvents.id));
}
