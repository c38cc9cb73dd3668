import { and, eq, isNotNull, lte } from 'drizzle-orm';
import { activityReports, issuances } from '../db/schema.js';
import { accessEndedAt } from '../domain/activity.js';
import type { Executor } from '../principals/repo.js';
import type { RequestRow } from '../requests/repo.js';

export type ActivityReportRow = typeof activityReports.$inferSelect;

/** The access keys a request was issued, and when each expires (issuances that completed). */
export async function issuedKeysOf(db: Executor, requestId: string): Promise<{ accessKeyId: string; expiresAt: Date; createdAt: Date }[]> {
  const rows = await db
    .select({ accessKeyId: issuances.accessKeyId, expiresAt: issuances.expiresAt, createdAt: issuances.createdAt })
    .from(issuances)
    .where(and(eq(issuances.requestId, requestId), eq(issuances.status, 'issued'), isNotNull(issuances.accessKeyId), isNotNull(issuances.expiresAt)));
  return rows.map((r) => ({ accessKeyId: r.accessKeyId!, expiresAt: r.expiresAt!, createdAt: r.createdAt }));
}

/**
 * Opens the activity report of a request whose access just ended or was revoked, in that change's
 * transaction; nothing when no credentials were issued or a report exists. Returns when its first
 * pass is due.
 */
export async function openActivityReport(tx: Executor, request: RequestRow, revoked: boolean, now: Date): Promise<Date | undefined> {
  const keys = await issuedKeysOf(tx, request.id);
  const revokedAt = revoked ? now : null;
  const endedAt = accessEndedAt({ revokedAt, denyPolicy: request.denyPolicyStatus, expirations: keys.map((k) => k.expiresAt) });
  if (endedAt === null) return undefined;
  const inserted = await tx
    .insert(activityReports)
    .values({ requestId: request.id, status: 'pending', endedAt, revokedAt, nextPassAt: endedAt, createdAt: now, updatedAt: now })
    .onConflictDoNothing()
    .returning({ nextPassAt: activityReports.nextPassAt });
  return inserted[0]?.nextPassAt ?? undefined;
}

export async function findActivityReport(db: Executor, requestId: string): Promise<ActivityReportRow | undefined> {
  const [row] = await db.select().from(activityReports).where(eq(activityReports.requestId, requestId));
  return row;
}

export async function lockActivityReport(db: Executor, requestId: string): Promise<ActivityReportRow | undefined> {
  const [row] = await db.select().from(activityReports).where(eq(activityReports.requestId, requestId)).for('update');
  return row;
}

export async function updateActivityReport(db: Executor, requestId: string, changes: Partial<ActivityReportRow>): Promise<void> {
  await db.update(activityReports).set(changes).where(eq(activityReports.requestId, requestId));
}

/** Pending reports whose next pass was due by `before` (the reconciler's sweep). */
export async function dueActivityReports(db: Executor, before: Date, limit: number): Promise<string[]> {
  const rows = await db
    .select({ requestId: activityReports.requestId })
    .from(activityReports)
    .where(and(eq(activityReports.status, 'pending'), lte(activityReports.nextPassAt, before)))
    .limit(limit);
  return rows.map((r) => r.requestId);
}
