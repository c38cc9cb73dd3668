import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { installation, issuances, profileVersions, requests } from '../db/schema.js';
import { auditStatementText } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { runStatement, type Statement } from '../db/statement.js';
import type { Executor } from '../principals/repo.js';
import { upgradeStoredDefinition, type ProfileDefinition } from '../domain/profile.js';
import { REQUEST_ROW_COLUMNS, type RequestRow } from '../requests/repo.js';

export type IssuanceRow = typeof issuances.$inferSelect;

/** What an issuance is judged on (see readIssuanceContext). */
export interface IssuanceContext {
  request: RequestRow;
  /** The request row's version (its xmin) this context was read at. */
  rowVersion: string;
  definition: ProfileDefinition;
  profileDeleted: boolean;
  requesterDisabled: boolean;
}

const ISSUANCE_CONTEXT: Statement = {
  name: 'issuance_context',
  text: `select ${REQUEST_ROW_COLUMNS}, r.xmin::text as "rowVersion", pv.definition as "definition",
    pr.deleted_at is not null as "profileDeleted", coalesce(pa.disabled, true) as "requesterDisabled"
  from requests r
  join profile_versions pv on pv.profile_id = r.profile_id and pv.version = r.profile_version
  join profiles pr on pr.id = r.profile_id
  left join principals pa on pa.id = r.requester_id
  where r.id = $1`,
};

/**
 * Everything an issuance is judged on, in one statement (one snapshot, no lock taken): the
 * request, the profile version it was made under, whether the profile was deleted since, whether
 * the requester is disabled, and the version of the request row all this was read at.
 */
export async function readIssuanceContext(db: Executor, requestId: string): Promise<IssuanceContext | undefined> {
  const [row] = await runStatement<RequestRow & Omit<IssuanceContext, 'request'>>(db, ISSUANCE_CONTEXT, [requestId]);
  if (row === undefined) return undefined;
  const { rowVersion, definition, profileDeleted, requesterDisabled, ...request } = row;
  return { request, rowVersion, definition: upgradeStoredDefinition(definition), profileDeleted, requesterDisabled };
}

/**
 * The pending issuance, written only if the request row is still the version the issuance was
 * planned from, its requester still enabled and its profile not deleted. Both rows are
 * share-locked by the statement, which PostgreSQL commits by itself: a revocation, cancellation
 * or disable either committed before it (its new row version fails the check, PostgreSQL
 * re-reads locked rows once their lockers commit) or waits until it has committed, and then sees
 * the pending issuance (latestCredentialExpiry counts it).
 */
const INSERT_PENDING_IF_UNCHANGED: Statement = {
  name: 'insert_pending_issuance_if_unchanged',
  text: `with unchanged as materialized (
    select 1 from requests r join principals p on p.id = r.requester_id
    where r.id = $2 and r.xmin = $8::xid and not p.disabled
      and not exists (select 1 from profiles pr where pr.id = r.profile_id and pr.deleted_at is not null)
    for share of r, p
  )
  insert into issuances (id, request_id, kind, status, session_name, source_identity, source_ip, created_at)
  select $1, $2, $3, 'pending', $4, $5, $6, $7 from unchanged
  returning id`,
};

/** Whether the pending issuance was written (see INSERT_PENDING_IF_UNCHANGED); false: the request changed, read it again. */
export async function insertPendingIssuanceIfUnchanged(
  db: Db,
  row: Pick<IssuanceRow, 'id' | 'requestId' | 'kind' | 'sessionName' | 'sourceIdentity' | 'sourceIp' | 'createdAt'>,
  rowVersion: string,
): Promise<boolean> {
  const values = [row.id, row.requestId, row.kind, row.sessionName, row.sourceIdentity, row.sourceIp, row.createdAt.toISOString(), rowVersion];
  return (await runStatement(db, INSERT_PENDING_IF_UNCHANGED, values)).length > 0;
}

export async function completeIssuance(
  db: Executor,
  id: string,
  changes: Pick<IssuanceRow, 'status' | 'completedAt'> & Partial<Pick<IssuanceRow, 'accessKeyId' | 'expiresAt' | 'error'>>,
): Promise<void> {
  await db.update(issuances).set(changes).where(eq(issuances.id, id));
}

/**
 * The issuance completed as issued, with its audit event, in one statement that PostgreSQL commits
 * by itself, provided its request is still `active` under the row lock the statement takes (the
 * lock orders it with a revocation or cancellation, as a transaction holding it would). Nothing
 * is written when the request is no longer active.
 */
const COMPLETE_ISSUED_IF_ACTIVE: Statement = {
  name: 'complete_issued_if_active',
  text: `${auditStatementText(
    '$6',
    `locked as materialized (select status from requests where id = $1 for update),
  completed as (
    update issuances set status = 'issued', access_key_id = $3, expires_at = $4, completed_at = $5
    where id = $2 and (select status from locked) = 'active'
    returning id
  )`,
    'exists (select 1 from completed)',
  )}
  returning id`,
};

/** Whether the issuance was completed and audited (the request was still active); see COMPLETE_ISSUED_IF_ACTIVE. */
export async function completeIssuedIfActive(
  db: Db,
  issuance: { requestId: string; issuanceId: string; accessKeyId: string; expiresAt: Date; completedAt: Date },
  auditEventJson: string,
): Promise<boolean> {
  const rows = await runStatement(db, COMPLETE_ISSUED_IF_ACTIVE, [
    issuance.requestId,
    issuance.issuanceId,
    issuance.accessKeyId,
    issuance.expiresAt.toISOString(),
    issuance.completedAt.toISOString(),
    auditEventJson,
  ]);
  return rows.length > 0;
}

/**
 * The latest moment a credential of this request may still be valid: issued ones expire at
 * their expiration; one still `pending` (STS answer unknown) may live until the window end.
 */
export async function latestCredentialExpiry(db: Executor, requestId: string, windowEnd: Date | null): Promise<Date | null> {
  const [row] = await db
    .select({
      issued: sql<string | null>`max(${issuances.expiresAt}) filter (where ${issuances.status} = 'issued')`,
      pending: sql<number>`count(*) filter (where ${issuances.status} = 'pending')`,
    })
    .from(issuances)
    .where(and(eq(issuances.requestId, requestId), inArray(issuances.status, ['issued', 'pending'])));
  const issued = row?.issued == null ? null : new Date(row.issued);
  const pending = Number(row?.pending ?? 0) > 0 ? windowEnd : null;
  if (issued === null) return pending;
  if (pending === null) return issued;
  return issued > pending ? issued : pending;
}

/** A request whose Deny is on a role now (deny policy `applied`). */
export interface RevocationOnRole {
  id: string;
  /** Its end: for a request revoked while active, the moment of the revocation. */
  endsAt: Date | null;
  /** Set when its revocation denied every Brevet session on the role issued before then. */
  sweptBefore: Date | null;
}

/** Requests whose Deny is on this role now (deny policy `applied`), by the role's ARN. */
export async function appliedRevocationsOnRole(db: Executor, roleArn: string): Promise<RevocationOnRole[]> {
  return db
    .select({ id: requests.id, endsAt: requests.endsAt, sweptBefore: requests.denySweptBefore })
    .from(requests)
    .innerJoin(profileVersions, and(eq(profileVersions.profileId, requests.profileId), eq(profileVersions.version, requests.profileVersion)))
    .where(and(eq(requests.denyPolicyStatus, 'applied'), sql`${profileVersions.definition}->>'roleArn' = ${roleArn}`));
}

/**
 * Requests other than the revoked ones still active on this role with a credential issued before
 * `before` and not yet expired at `now`: those whose sessions a sweep denies too (at most `limit`).
 */
export async function liveRequestsIssuedBefore(db: Executor, roleArn: string, before: Date, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectDistinct({ id: requests.id })
    .from(requests)
    .innerJoin(profileVersions, and(eq(profileVersions.profileId, requests.profileId), eq(profileVersions.version, requests.profileVersion)))
    .innerJoin(issuances, eq(issuances.requestId, requests.id))
    .where(
      and(
        eq(requests.status, 'active'),
        sql`${profileVersions.definition}->>'roleArn' = ${roleArn}`,
        eq(issuances.status, 'issued'),
        lt(issuances.createdAt, before),
        gt(issuances.expiresAt, now),
      ),
    )
    .orderBy(requests.id)
    .limit(limit);
  return rows.map((row) => row.id);
}

/** This installation's id (one row, written by its migration). */
export async function installationId(db: Executor): Promise<string> {
  const [row] = await db.select({ id: installation.id }).from(installation);
  if (row === undefined) throw new Error('the installation row is missing: run the migrations');
  return row.id;
}
