import { and, asc, count, desc, eq, getTableColumns, inArray, or, sql, type SQL } from 'drizzle-orm';
import { auditStatementText } from '../audit/writer.js';
import { idempotencyKeys, profiles, requests, reviews } from '../db/schema.js';
import { runStatement, type Statement } from '../db/statement.js';
import type { Executor } from '../principals/repo.js';
import type { RequestStatus } from '../domain/lifecycle.js';
import type { Viewer } from '../domain/request-access.js';
import { awaitsReviewBySql, maySeeRequestSql } from '../domain/request-access.sql.js';
import { upgradeStoredDefinition, type ProfileDefinition } from '../domain/profile.js';
import { statusChangeAnnouncement, statusChangeAnnouncementSql } from './status-changes.js';

export type RequestRow = typeof requests.$inferSelect;
export type ReviewRow = typeof reviews.$inferSelect;

export async function insertRequest(db: Executor, row: typeof requests.$inferInsert): Promise<RequestRow> {
  const [inserted] = await db.insert(requests).values(row).returning();
  return inserted!;
}

/** Every column of `requests` with its SQL type, in the order insertRequestWithAudit's parameters take them. */
const REQUEST_COLUMNS = [
  ['id', 'id', 'text'],
  ['kind', 'kind', 'text'],
  ['parent_id', 'parentId', 'text'],
  ['profile_id', 'profileId', 'text'],
  ['profile_version', 'profileVersion', 'integer'],
  ['requester_id', 'requesterId', 'text'],
  ['status', 'status', 'text'],
  ['duration_seconds', 'durationSeconds', 'integer'],
  ['justification', 'justification', 'text'],
  ['ticket', 'ticket', 'text'],
  ['scope', 'scope', 'jsonb'],
  ['starts_at', 'startsAt', 'timestamptz'],
  ['ends_at', 'endsAt', 'timestamptz'],
  ['approvals_required', 'approvalsRequired', 'integer'],
  ['break_glass', 'breakGlass', 'boolean'],
  ['pending_expires_at', 'pendingExpiresAt', 'timestamptz'],
  ['remind_at', 'remindAt', 'timestamptz'],
  ['reminded_at', 'remindedAt', 'timestamptz'],
  ['decided_at', 'decidedAt', 'timestamptz'],
  ['escalate_at', 'escalateAt', 'timestamptz'],
  ['escalated_tiers', 'escalatedTiers', 'integer'],
  ['ending_notice_at', 'endingNoticeAt', 'timestamptz'],
  ['revoked_reason', 'revokedReason', 'text'],
  ['deny_policy_status', 'denyPolicyStatus', 'text'],
  ['revocation_cleanup_at', 'revocationCleanupAt', 'timestamptz'],
  ['deny_swept_before', 'denySweptBefore', 'timestamptz'],
  ['evidence', 'evidence', 'jsonb'],
  ['slack_channel', 'slackChannel', 'text'],
  ['slack_messages', 'slackMessages', 'jsonb'],
  ['slack_render', 'slackRender', 'integer'],
  ['slack_posting_until', 'slackPostingUntil', 'timestamptz'],
  ['created_at', 'createdAt', 'timestamptz'],
  ['updated_at', 'updatedAt', 'timestamptz'],
] as const satisfies readonly (readonly [string, keyof RequestRow, string])[];
const COLUMN_LIST = REQUEST_COLUMNS.map(([column]) => column).join(', ');
const EVENTS_PARAM = `$${REQUEST_COLUMNS.length + 1}`;
const PROFILE_NAME_PARAM = `$${REQUEST_COLUMNS.length + 2}`;
const param = (key: keyof RequestRow) => `$${REQUEST_COLUMNS.findIndex(([, k]) => k === key) + 1}`;

/**
 * A new request and its audit events in one statement (so one round trip, and PostgreSQL commits
 * it by itself): the row is given whole, every column set, so what the caller holds is what was
 * stored and nothing is read back. See audit/writer.ts for how the events are appended.
 */
const INSERT_WITH_AUDIT: Statement = {
  name: 'insert_request_with_audit',
  text: auditStatementText(EVENTS_PARAM, `inserted as (insert into requests (${COLUMN_LIST}) values (${REQUEST_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}))`),
};

/**
 * The same, on condition that the row's profile version is still the profile's current one (same
 * id, name and version, not deleted), read in the statement's own snapshot: otherwise nothing is
 * written and no row comes back.
 */
const INSERT_WITH_AUDIT_IF_CURRENT: Statement = {
  name: 'insert_request_with_audit_if_current',
  text: auditStatementText(
    EVENTS_PARAM,
    `inserted as (
    insert into requests (${COLUMN_LIST})
    select ${REQUEST_COLUMNS.map(([, , type], i) => `$${i + 1}::${type}`).join(', ')}
    where exists (
      select 1 from profiles p
      where p.id = ${param('profileId')}::text and p.current_version = ${param('profileVersion')}::integer and p.name = ${PROFILE_NAME_PARAM}::text and p.deleted_at is null
    )
    returning 1
  )`,
    'exists (select 1 from inserted)',
    '1',
  ),
};

/**
 * Inserts the request and its events (outside a transaction, they commit together by themselves).
 * With `ifProfileNamed`, only when the row's profile version is still current under that name:
 * false when it is not, and nothing was written.
 */
export async function insertRequestWithAudit(db: Executor, row: RequestRow, auditEventsJson: string, ifProfileNamed?: string): Promise<boolean> {
  const values: unknown[] = REQUEST_COLUMNS.map(([, key]) => {
    const value = row[key];
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    return JSONB_COLUMNS.has(key) ? JSON.stringify(value) : value;
  });
  values.push(auditEventsJson);
  if (ifProfileNamed === undefined) {
    await runStatement(db, INSERT_WITH_AUDIT, values);
    return true;
  }
  values.push(ifProfileNamed);
  return (await runStatement(db, INSERT_WITH_AUDIT_IF_CURRENT, values)).length > 0;
}
const JSONB_COLUMNS = new Set<keyof RequestRow>(['scope', 'evidence', 'slackMessages']);

/**
 * `requests r`'s columns as a RequestRow, for statements written once: node-postgres parses them
 * as drizzle maps them (timestamps to Date, JSON parsed), so the row is the one the query builder gives.
 */
export const REQUEST_ROW_COLUMNS = REQUEST_COLUMNS.map(([column, key]) => `r.${column} as "${key}"`).join(', ');

export async function findRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id));
  return row;
}

/** Row lock: every command on one request runs one at a time (SPEC §2). */
export async function lockRequest(db: Executor, id: string): Promise<RequestRow | undefined> {
  const [row] = await db.select().from(requests).where(eq(requests.id, id)).for('update');
  return row;
}

/**
 * lockRequest, with its profile's current name read in the same statement (the profile row is
 * not locked): what the outbox and the metrics of a change need, so neither reads it again.
 */
export async function lockRequestNamed(db: Executor, id: string): Promise<{ request: RequestRow; profileName: string } | undefined> {
  const [row] = await db
    .select({ request: requests, profileName: profiles.name })
    .from(requests)
    .innerJoin(profiles, eq(profiles.id, requests.profileId))
    .where(eq(requests.id, id))
    .for('update', { of: requests });
  return row;
}

/**
 * Locks a request and, for an extension, its parent first: every command that touches both takes
 * the parent's lock before the extension's, so two of them never wait on each other. One
 * statement: PostgreSQL sorts the rows before it locks them, one after the other in that order,
 * and the parent sorts first. (The link never changes once written, so reading it is safe.)
 */
export async function lockWithParent(db: Executor, id: string): Promise<{ request: RequestRow; parent: RequestRow | undefined } | undefined> {
  const rows = await db
    .select()
    .from(requests)
    .where(or(eq(requests.id, id), eq(requests.id, sql`(select link.parent_id from requests link where link.id = ${id})`)))
    .orderBy(sql`${requests.id} = ${id}`)
    .for('update');
  const request = rows.find((row) => row.id === id);
  if (request === undefined) return undefined;
  return { request, parent: request.parentId === null ? undefined : rows.find((row) => row.id === request.parentId) };
}

/** The pending extensions of a request, locked (its own row must be locked first). */
export async function lockPendingExtensions(db: Executor, parentId: string): Promise<RequestRow[]> {
  return db
    .select()
    .from(requests)
    .where(and(eq(requests.parentId, parentId), eq(requests.status, 'pending')))
    .orderBy(asc(requests.id))
    .for('update');
}

/** Whether the request has an extension pending, or one asked to continue from `startsAt` (any state). */
export async function findExtension(db: Executor, parentId: string, match: { pending: true } | { startsAt: Date }): Promise<RequestRow | undefined> {
  const condition = 'pending' in match ? eq(requests.status, 'pending') : eq(requests.startsAt, match.startsAt);
  const [row] = await db.select().from(requests).where(and(eq(requests.parentId, parentId), condition)).limit(1);
  return row;
}

const requestColumns = getTableColumns(requests);
/** The row as updated, and a status change announced by the same statement. */
const withAnnouncement = { ...requestColumns, announced: statusChangeAnnouncement(requests.id) };

/** What a review is judged on (see readDecisionContext). */
export interface DecisionContext {
  request: RequestRow;
  /** The request row's version (its xmin) this context was read at. */
  rowVersion: string;
  definition: ProfileDefinition;
  profileDeleted: boolean;
  profileName: string;
  requesterDisabled: boolean;
  reviews: ReviewRow[];
}

const DECISION_CONTEXT: Statement = {
  name: 'decision_context',
  text: `select ${REQUEST_ROW_COLUMNS}, r.xmin::text as "rowVersion", pv.definition as "definition",
    pr.deleted_at is not null as "profileDeleted", pr.name as "profileName", coalesce(pa.disabled, true) as "requesterDisabled",
    coalesce((
      select json_agg(json_build_object('id', v.id, 'requestId', v.request_id, 'reviewerId', v.reviewer_id, 'decision', v.decision,
        'comment', v.comment, 'channel', v.channel, 'postHoc', v.post_hoc, 'createdAt', v.created_at) order by v.created_at, v.id)
      from reviews v where v.request_id = r.id
    ), '[]') as "reviews"
  from requests r
  join profile_versions pv on pv.profile_id = r.profile_id and pv.version = r.profile_version
  join profiles pr on pr.id = r.profile_id
  left join principals pa on pa.id = r.requester_id
  where r.id = $1`,
};

/**
 * Everything a review is judged on, in one statement (one snapshot, no lock taken): the request
 * and the version of its row, the profile version it was made under, whether the profile was
 * deleted since and its current name, whether the requester is disabled, and the reviews so far
 * (in reviewsOf's order).
 */
export async function readDecisionContext(db: Executor, requestId: string): Promise<DecisionContext | undefined> {
  type Row = RequestRow & Omit<DecisionContext, 'request' | 'reviews'> & { reviews: (Omit<ReviewRow, 'createdAt'> & { createdAt: string })[] };
  const [row] = await runStatement<Row>(db, DECISION_CONTEXT, [requestId]);
  if (row === undefined) return undefined;
  const { rowVersion, definition, profileDeleted, profileName, requesterDisabled, reviews: read, ...request } = row;
  const reviews = read.map((review) => ({ ...review, createdAt: new Date(review.createdAt) }));
  return { request, rowVersion, definition: upgradeStoredDefinition(definition), profileDeleted, profileName, requesterDisabled, reviews };
}

/**
 * A decision on a pending request, in one statement that PostgreSQL commits by itself, on
 * condition that the request row is still the version it was judged on (and, for an approval,
 * that the requester is still enabled, their row share-locked as isDisabledLocked does, and that
 * the profile was not deleted by a delete committed before the statement began): the
 * decided columns, the review and the audit events, all or nothing. Every review moves the row's
 * version, this one and those made under the row lock (applyDecision), so two reviews judged on
 * the same reviews never both land: the second is judged again.
 */
const DECIDE_IF_UNCHANGED: Statement = {
  name: 'decide_if_unchanged',
  text: auditStatementText(
    '$18',
    `requester as materialized (select 1 from principals where id = $3 and not (disabled and $4::boolean) for share),
  profile as materialized (select 1 from requests r join profiles p on p.id = r.profile_id where r.id = $1 and not (p.deleted_at is not null and $4::boolean)),
  updated as (
    update requests set status = $5, decided_at = $6, escalate_at = $7, starts_at = $8, ends_at = $9, updated_at = $10
    where id = $1 and xmin = $2::xid and exists (select 1 from requester) and exists (select 1 from profile)
    returning case when $11::boolean then ${statusChangeAnnouncementSql('id')} end
  ),
  review as (
    insert into reviews (id, request_id, reviewer_id, decision, comment, channel, post_hoc, created_at)
    select $12, $1, $13, $14, $15, $16, $17, $10 from updated
  )`,
    'exists (select 1 from updated)',
    '1',
  ),
};

/** Whether the decision was written (see DECIDE_IF_UNCHANGED); false: the request changed, judge it again. */
export async function decideIfUnchanged(
  db: Executor,
  judged: { rowVersion: string; approving: boolean },
  updated: RequestRow,
  statusChanged: boolean,
  review: ReviewRow,
  auditEventsJson: string,
): Promise<boolean> {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  const values = [
    updated.id,
    judged.rowVersion,
    updated.requesterId,
    judged.approving,
    updated.status,
    iso(updated.decidedAt),
    iso(updated.escalateAt),
    iso(updated.startsAt),
    iso(updated.endsAt),
    updated.updatedAt.toISOString(),
    statusChanged,
    review.id,
    review.reviewerId,
    review.decision,
    review.comment,
    review.channel,
    review.postHoc,
    auditEventsJson,
  ];
  return (await runStatement(db, DECIDE_IF_UNCHANGED, values)).length > 0;
}

/** Pass the command's transaction: a status change is announced to long-polls when it commits. */
export async function updateRequest(db: Executor, id: string, changes: Partial<RequestRow>): Promise<RequestRow> {
  const update = db.update(requests).set(changes).where(eq(requests.id, id));
  if (changes.status === undefined) return (await update.returning())[0]!;
  const [{ announced: _announced, ...row }] = (await update.returning(withAnnouncement)) as [RequestRow & { announced: string }];
  return row;
}

/**
 * Updates a request whose row this transaction holds locked, and returns it as now stored without
 * reading it back: under the lock nothing else changed it, so it is the locked row with the
 * changes applied (none of which may be a JSON column, which PostgreSQL would store normalised).
 * A status change is announced as updateRequest does.
 */
export async function updateLockedRequest(db: Executor, locked: RequestRow, changes: Partial<Omit<RequestRow, JsonColumn>>): Promise<RequestRow> {
  const update = db.update(requests).set(changes).where(eq(requests.id, locked.id));
  await (changes.status === undefined ? update : update.returning({ announced: statusChangeAnnouncement(requests.id) }));
  const applied = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  return { ...locked, ...applied };
}
type JsonColumn = 'scope' | 'evidence' | 'slackMessages';

export async function reviewsOf(db: Executor, requestIds: readonly string[]): Promise<ReviewRow[]> {
  if (requestIds.length === 0) return [];
  return db.select().from(reviews).where(inArray(reviews.requestId, [...requestIds])).orderBy(asc(reviews.createdAt), asc(reviews.id));
}

/** Current names of profiles, deleted ones included (a request outlives its profile). */
export async function profileNamesOf(db: Executor, profileIds: readonly string[]): Promise<Map<string, string>> {
  if (profileIds.length === 0) return new Map();
  const rows = await db.select({ id: profiles.id, name: profiles.name }).from(profiles).where(inArray(profiles.id, [...new Set(profileIds)]));
  return new Map(rows.map((row) => [row.id, row.name]));
}

/**
 * A review and the audit events of the decision it makes in one statement (one round trip); see
 * audit/writer.ts for how the events are appended.
 */
const INSERT_REVIEW_WITH_AUDIT: Statement = {
  name: 'insert_review_with_audit',
  text: auditStatementText(
    '$9',
    `review as (insert into reviews (id, request_id, reviewer_id, decision, comment, channel, post_hoc, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8))`,
  ),
};

export async function insertReviewWithAudit(db: Executor, row: ReviewRow, auditEventsJson: string): Promise<void> {
  const values = [row.id, row.requestId, row.reviewerId, row.decision, row.comment, row.channel, row.postHoc, row.createdAt.toISOString(), auditEventsJson];
  await runStatement(db, INSERT_REVIEW_WITH_AUDIT, values);
}

/** How many of the requester's requests on the profile (any version) wait for a decision. */
export async function countPendingOf(db: Executor, requesterId: string, profileId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(requests)
    .where(and(eq(requests.requesterId, requesterId), eq(requests.profileId, profileId), eq(requests.status, 'pending')));
  return row!.n;
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
  viewer: Viewer;
  /** The moment eligibility is judged at (SPEC §3 rule 2). */
  now: Date;
  status?: RequestStatus | undefined;
  mine?: boolean | undefined;
  reviewable?: boolean | undefined;
  /** A profile's id or name. */
  profile?: string | undefined;
  after?: { createdAt: Date; id: string } | undefined;
  limit: number;
}

/**
 * Requests the viewer may see, newest first, keyset-paginated on (createdAt, id). Visibility and
 * "reviewable" are the SQL twins of domain/request-access.ts, so a listed request is one the
 * item route shows.
 */
export async function listRequests(db: Executor, query: RequestQuery): Promise<RequestRow[]> {
  const { viewer, now } = query;
  const filters: (SQL | undefined)[] = [maySeeRequestSql(viewer, now)];
  if (query.mine === true) filters.push(eq(requests.requesterId, viewer.id));
  if (query.reviewable === true) filters.push(awaitsReviewBySql(viewer, now));
  if (query.status !== undefined) filters.push(eq(requests.status, query.status));
  if (query.profile !== undefined) {
    // Names are unique across live and deleted profiles, so a name means one profile.
    const ref = query.profile;
    filters.push(inArray(requests.profileId, db.select({ id: profiles.id }).from(profiles).where(or(eq(profiles.id, ref), eq(profiles.name, ref)))));
  }
  if (query.after !== undefined) {
    filters.push(sql`(${requests.createdAt}, ${requests.id}) < (${query.after.createdAt.toISOString()}::timestamptz, ${query.after.id})`);
  }
  return db
    .select()
    .from(requests)
    .where(and(...filters))
    .orderBy(desc(requests.createdAt), desc(requests.id))
    .limit(query.limit);
}
