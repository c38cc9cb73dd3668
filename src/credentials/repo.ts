import { and, eq, inArray, sql } from 'drizzle-orm';
import { installation, issuances, profileVersions, requests } from '../db/schema.js';
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
