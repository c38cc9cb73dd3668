import { and, arrayOverlaps, asc, eq, gt, isNull } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { apiKeys, principals } from '../db/schema.js';
import { runStatement, type Statement } from '../db/statement.js';

export type Executor = Db | Tx;
export type PrincipalRow = typeof principals.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function findPrincipal(db: Executor, id: string): Promise<PrincipalRow | undefined> {
  const [row] = await db.select().from(principals).where(eq(principals.id, id));
  return row;
}

/**
 * Lookups by an identity someone else vouches for find persons only (domain/identity.ts
 * matchableByIdentity): a service account is reached by its API keys, never by e-mail, OIDC
 * subject or Slack user. The database refuses those fields on service accounts too; the filter
 * here keeps the rule true even for a row that predates the constraint.
 */
export async function findPersonByEmail(db: Executor, email: string): Promise<PrincipalRow | undefined> {
  const [row] = await db.select().from(principals).where(and(eq(principals.email, email), eq(principals.kind, 'person')));
  return row;
}

export async function findPersonByOidcSubject(db: Executor, subject: string): Promise<PrincipalRow | undefined> {
  const [row] = await db.select().from(principals).where(and(eq(principals.oidcSubject, subject), eq(principals.kind, 'person')));
  return row;
}

export async function findPersonBySlackUser(db: Executor, slackUserId: string): Promise<PrincipalRow | undefined> {
  const [row] = await db.select().from(principals).where(and(eq(principals.slackUserId, slackUserId), eq(principals.kind, 'person')));
  return row;
}

/** Reads the principal and locks its row until the transaction ends: links made meanwhile are seen, not overwritten. */
export async function lockPrincipal(tx: Tx, id: string): Promise<PrincipalRow | undefined> {
  const [row] = await tx.select().from(principals).where(eq(principals.id, id)).for('update');
  return row;
}

/**
 * Whether the principal is disabled, with its row share-locked until the transaction ends: a
 * concurrent disable waits for the command that relies on the answer, so the two never interleave
 * (an approval or issuance for someone disabled "at the same moment" is ordered before it).
 */
export async function isDisabledLocked(tx: Tx, id: string): Promise<boolean> {
  const [row] = await tx.select({ disabled: principals.disabled }).from(principals).where(eq(principals.id, id)).for('share');
  return row === undefined || row.disabled;
}

/** Inserts unless a row with the same unique email or subject exists; returns undefined on such a conflict. */
export async function insertPrincipal(db: Executor, row: typeof principals.$inferInsert): Promise<PrincipalRow | undefined> {
  const [inserted] = await db.insert(principals).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function updatePrincipal(
  db: Executor,
  id: string,
  changes: Partial<Pick<PrincipalRow, 'groups' | 'slackUserId' | 'disabled' | 'displayName' | 'oidcSubject' | 'updatedAt'>>,
): Promise<PrincipalRow | undefined> {
  const [row] = await db.update(principals).set(changes).where(eq(principals.id, id)).returning();
  return row;
}

export async function listPrincipals(db: Executor, after: string | undefined, limit: number): Promise<PrincipalRow[]> {
  return db
    .select()
    .from(principals)
    .where(after === undefined ? undefined : gt(principals.id, after))
    .orderBy(asc(principals.id))
    .limit(limit);
}

export async function principalsExistInGroups(db: Executor, groups: readonly string[]): Promise<boolean> {
  if (groups.length === 0) return false;
  const rows = await db
    .select({ id: principals.id })
    .from(principals)
    .where(and(eq(principals.disabled, false), arrayOverlaps(principals.groups, [...groups])))
    .limit(1);
  return rows.length > 0;
}

export async function insertApiKey(db: Executor, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [inserted] = await db.insert(apiKeys).values(row).returning();
  return inserted!;
}

/** What authenticating a caller by API key needs of the key and of its principal. */
export interface ApiKeyCaller {
  key: Pick<ApiKeyRow, 'id' | 'revokedAt' | 'lastUsedAt'>;
  principal: Pick<PrincipalRow, 'id' | 'kind' | 'email' | 'displayName' | 'groups' | 'disabled'>;
}

const API_KEY_CALLER: Statement = {
  name: 'api_key_caller',
  text: `select k.id as "keyId", k.revoked_at as "revokedAt", k.last_used_at as "lastUsedAt",
      p.id, p.kind, p.email, p.display_name as "displayName", p.groups, p.disabled
    from api_keys k join principals p on p.id = k.principal_id
    where k.key_hash = $1`,
};

/** Every call authenticated by an API key runs this: read on every call, never cached. */
export async function findApiKeyByHash(db: Db, keyHash: string): Promise<ApiKeyCaller | undefined> {
  const [row] = await runStatement<ApiKeyCaller['principal'] & { keyId: string; revokedAt: Date | null; lastUsedAt: Date | null }>(db, API_KEY_CALLER, [keyHash]);
  if (row === undefined) return undefined;
  return {
    key: { id: row.keyId, revokedAt: row.revokedAt, lastUsedAt: row.lastUsedAt },
    principal: { id: row.id, kind: row.kind, email: row.email, displayName: row.displayName, groups: row.groups, disabled: row.disabled },
  };
}

export async function touchApiKey(db: Executor, id: string, at: Date): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: at }).where(eq(apiKeys.id, id));
}

export async function listApiKeys(db: Executor, principalId: string): Promise<ApiKeyRow[]> {
  return db.select().from(apiKeys).where(eq(apiKeys.principalId, principalId)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

export async function revokeApiKey(db: Executor, principalId: string, keyId: string, at: Date): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.principalId, principalId), isNull(apiKeys.revokedAt)))
    .returning();
  return row;
}
