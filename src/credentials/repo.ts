import { and, eq, inArray, sql } from 'drizzle-orm';
import { installation, issuances, profileVersions, requests } from '../db/schema.js';
import { auditStatementText } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { runStatement, type Statement } from '../db/statement.js';
import type { Executor } from '../principals/repo.js';

export type IssuanceRow = typeof issuances.$inferSelect;

export async function insertIssuance(db: Executor, row: typeof issuances.$inferInsert): Promise<void> {
  await db.insert(issuances).values(row);
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

/** Requests whose Deny statement is on this role now (deny policy `applied`), by the role's ARN. */
export async function appliedRevocationsOnRole(db: Executor, roleArn: string): Promise<string[]> {
  const rows = await db
    .select({ id: requests.id })
    .from(requests)
    .innerJoin(profileVersions, and(eq(profileVersions.profileId, requests.profileId), eq(profileVersions.version, requests.profileVersion)))
    .where(and(eq(requests.denyPolicyStatus, 'applied'), sql`${profileVersions.definition}->>'roleArn' = ${roleArn}`));
  return rows.map((row) => row.id);
}

/** This installation's id (one row, written by its migration). */
export async function installationId(db: Executor): Promise<string> {
  const [row] = await db.select({ id: installation.id }).from(installation);
  if (row === undefined) throw new Error('the installation row is missing: run the migrations');
  return row.id;
}
