import { and, asc, desc, eq, inArray, ne, not, or, sql, type SQL } from 'drizzle-orm';
import { idempotencyKeys, profileVersions, requests, reviews } from '../db/schema.js';
import type { Executor } from '../principals/repo.js';
import type { RequestStatus } from '../domain/lifecycle.js';

export type RequestRow = typeof requests.$inferSelect;
export type ReviewRow = typeof reviews.$inferSelect;

export async function insertRequest(db: Executor, row: typeof requests.$inferInsert): Promise<RequestRow> {
  const [inserted] = await db.insert(requests).values(row).returning();
  return inserted!;
}

export async function findRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id));
  return row;
}

/** Row lock: every command on one request runs one at a time (SPEC §2). */
export async function lockRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id)).for('update');
  return row;
}

export async function updateRequest(db: Executor, id: string, changes: Partial<RequestRow>): Promise<RequestRow> {
  const [row] = await db.update(requests).set(changes).where(eq(requests.id, id)).returning();
  return row!;
}

export async function reviewsOf(db: Executor, requestIds: readonly string[]): Promise<ReviewRow[]> {
  if (requestIds.length === 0) return [];
  return db.select().from(reviews).where(inArray(reviews.requestId, [...requestIds])).orderBy(asc(reviews.createdAt), asc(reviews.id));
}

export async function insertReview(db: Executor, row: typeof reviews.$inferInsert): Promise<void> {
  await db.insert(reviews).values(row);
}

/** Claims an idempotency key; when another request holds it, returns that one instead. */
export async function claimIdempotencyKey(
  db: Executor,
  row: typeof idempotencyKeys.$inferInsert,
): Promise<{ claimed: true } | { claimed: false; requestId: string; requestHash: string }> {
  // ON CONFLICT waits for a concurrent holder to commit, so racing retries see its row.
  const inserted = await db.insert(idempotencyKeys).values(row).onConflictDoNothing().returning();
  if (inserted.length > 0) return { claimed: true };
  const existing = await findIdempotencyKey(db, row.principalId, row.key);
  return { claimed: false, requestId: existing!.requestId, requestHash: existing!.requestHash };
}

export async function findIdempotencyKey(db: Executor, principalId: string, key: string) {
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.principalId, principalId), eq(idempotencyKeys.key, key)));
  return row;
}

export interface RequestQuery {
  viewer: { id: string; email: string | null; groups: readonly string[]; seesAll: boolean };
  status?: RequestStatus | undefined;
  mine?: boolean | undefined;
  reviewable?: boolean | undefined;
  after?: { createdAt: Date; id: string } | undefined;
  limit: number;
}

/** Requests the viewer may see, newest first, keyset-paginated on (createdAt, id). */
export async function listRequests(db: Executor, query: RequestQuery): Promise<RequestRow[]> {
  const { viewer } = query;
  const approverOf = sql`(
    jsonb_exists_any(${profileVersions.definition}->'approval'->'approverGroups', ${sql.param([...viewer.groups, ''])}::text[])
    or jsonb_exists_any(${profileVersions.definition}->'approval'->'approverPrincipals', ${sql.param([viewer.id, viewer.email ?? ''])}::text[])
  )`;
  const filters: (SQL | undefined)[] = [];
  if (!viewer.seesAll) filters.push(or(eq(requests.requesterId, viewer.id), approverOf));
  if (query.mine === true) filters.push(eq(requests.requesterId, viewer.id));
  if (query.reviewable === true) {
    // Reviewable means awaiting this viewer: one who already reviewed counts once and is done (SPEC §3 rule 1).
    const reviewedByViewer = sql`exists (select 1 from ${reviews} where ${reviews.requestId} = ${requests.id} and ${reviews.reviewerId} = ${viewer.id})`;
    // Pending ones, and break-glass sessions awaiting their post-hoc review (SPEC §2).
    const awaitsReview = or(eq(requests.status, 'pending'), and(eq(requests.breakGlass, true), inArray(requests.status, ['active', 'ended'])));
    filters.push(approverOf, ne(requests.requesterId, viewer.id), awaitsReview, not(reviewedByViewer));
  }
  if (query.status !== undefined) filters.push(eq(requests.status, query.status));
  if (query.after !== undefined) {
    filters.push(sql`(${requests.createdAt}, ${requests.id}) < (${query.after.createdAt.toISOString()}::timestamptz, ${query.after.id})`);
  }
  const rows = await db
    .select({ request: requests })
    .from(requests)
    .innerJoin(profileVersions, and(eq(profileVersions.profileId, requests.profileId), eq(profileVersions.version, requests.profileVersion)))
    .where(and(...filters))
    .orderBy(desc(requests.createdAt), desc(requests.id))
    .limit(query.limit);
  return rows.map((row) => row.request);
}
