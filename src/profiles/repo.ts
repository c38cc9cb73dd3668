import { and, asc, eq, isNull, or } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import { runStatement, type Statement } from '../db/statement.js';
import type { Executor } from '../principals/repo.js';
import { profileVersions, profiles } from '../db/schema.js';
import { upgradeStoredDefinition, type ProfileDefinition } from '../domain/profile.js';
import type { PolicyFinding } from '../adapters/aws/access-analyzer.js';

export type ProfileRow = typeof profiles.$inferSelect;

export interface ProfileVersion {
  profile: ProfileRow;
  version: number;
  definition: ProfileDefinition;
  /** Access Analyzer's findings on the session policy of this version; null when not checked (SPEC §13). */
  policyFindings: PolicyFinding[] | null;
}

const currentVersion = (db: Executor) =>
  db
    .select({
      profile: profiles,
      version: profileVersions.version,
      definition: profileVersions.definition,
      policyFindings: profileVersions.policyFindings,
    })
    .from(profiles)
    .innerJoin(profileVersions, and(eq(profileVersions.profileId, profiles.id), eq(profileVersions.version, profiles.currentVersion)));

/** The live profile by id or name, at its current version (ids `prf_…` and name slugs cannot be confused). */
const CURRENT_PROFILE: Statement = {
  name: 'current_profile',
  text: `select p.id, p.name, p.current_version as "currentVersion", p.created_at as "createdAt", p.updated_at as "updatedAt",
      p.deleted_at as "deletedAt", v.version, v.definition, v.policy_findings as "policyFindings"
    from profiles p join profile_versions v on v.profile_id = p.id and v.version = p.current_version
    where (p.id = $1 or p.name = $1) and p.deleted_at is null`,
};

export async function findCurrentProfile(db: Executor, ref: string): Promise<ProfileVersion | undefined> {
  if (db instanceof PgTransaction) {
    const [row] = await currentVersion(db).where(and(or(eq(profiles.id, ref), eq(profiles.name, ref)), isNull(profiles.deletedAt)));
    return row === undefined ? undefined : versionOf(row);
  }
  // Every create reads this: SQL written once, no query builder or row mapping per call.
  const [row] = await runStatement<ProfileRow & { version: number; definition: unknown; policyFindings: unknown }>(db, CURRENT_PROFILE, [ref]);
  if (row === undefined) return undefined;
  const { version, definition, policyFindings, ...profile } = row;
  return versionOf({ profile, version, definition, policyFindings });
}

export async function listCurrentProfiles(db: Executor): Promise<ProfileVersion[]> {
  const rows = await currentVersion(db).where(isNull(profiles.deletedAt)).orderBy(asc(profiles.name));
  return rows.map(versionOf);
}

function versionOf(row: { profile: ProfileRow; version: number; definition: unknown; policyFindings: unknown }): ProfileVersion {
  return {
    ...row,
    definition: upgradeStoredDefinition(row.definition as ProfileDefinition),
    policyFindings: row.policyFindings as PolicyFinding[] | null,
  };
}

/** A request is always judged by the version it was made under, even after edits or deletion. */
export async function findProfileVersion(db: Executor, profileId: string, version: number): Promise<ProfileDefinition | undefined> {
  const [row] = await db
    .select({ definition: profileVersions.definition })
    .from(profileVersions)
    .where(and(eq(profileVersions.profileId, profileId), eq(profileVersions.version, version)));
  return row === undefined ? undefined : upgradeStoredDefinition(row.definition as ProfileDefinition);
}

/**
 * What a command on a request reads of its profile, in one query: the version the request was
 * made under (it is always judged by that one, even after edits or deletion), whether the profile
 * has been deleted since (a deleted profile grants nothing more), and its current name (the API
 * view of a request carries it).
 */
export async function findRequestProfile(
  db: Executor,
  profileId: string,
  version: number,
): Promise<{ definition: ProfileDefinition; deleted: boolean; name: string } | undefined> {
  const [row] = await db
    .select({ definition: profileVersions.definition, deletedAt: profiles.deletedAt, name: profiles.name })
    .from(profileVersions)
    .innerJoin(profiles, eq(profiles.id, profileVersions.profileId))
    .where(and(eq(profileVersions.profileId, profileId), eq(profileVersions.version, version)));
  if (row === undefined) return undefined;
  return { definition: upgradeStoredDefinition(row.definition as ProfileDefinition), deleted: row.deletedAt !== null, name: row.name };
}

/** Locks the live profile by id or name (ids `prf_…` and name slugs cannot be confused). */
export async function lockProfile(db: Executor, ref: string): Promise<ProfileRow | undefined> {
  const [row] = await db
    .select()
    .from(profiles)
    .where(and(or(eq(profiles.id, ref), eq(profiles.name, ref)), isNull(profiles.deletedAt)))
    .for('update');
  return row;
}

export async function insertProfile(db: Executor, row: typeof profiles.$inferInsert): Promise<ProfileRow> {
  const [inserted] = await db.insert(profiles).values(row).returning();
  return inserted!;
}

export async function insertProfileVersion(db: Executor, row: typeof profileVersions.$inferInsert): Promise<void> {
  await db.insert(profileVersions).values(row);
}

export async function updateProfileHead(
  db: Executor,
  id: string,
  changes: Partial<Pick<ProfileRow, 'name' | 'currentVersion' | 'updatedAt' | 'deletedAt'>>,
): Promise<ProfileRow> {
  const [row] = await db.update(profiles).set(changes).where(eq(profiles.id, id)).returning();
  return row!;
}

/** A deleted profile grants nothing more: its open requests can be neither approved nor used. */
export async function isProfileDeleted(db: Executor, id: string): Promise<boolean> {
  const [row] = await db.select({ deletedAt: profiles.deletedAt }).from(profiles).where(eq(profiles.id, id));
  return row === undefined || row.deletedAt !== null;
}

/**
 * The current version last read per profile reference (id or name), per database handle: what a
 * create may plan with before it has read anything. Never trusted on its own — the create writes
 * only if the version is still current and confirms it before any other answer (see
 * requests/create-request.ts) — so a stale entry costs a read, never a decision. Bounded: the
 * oldest reference is dropped past REMEMBERED_REFS.
 */
const remembered = new WeakMap<Executor, Map<string, ProfileVersion>>();
const REMEMBERED_REFS = 256;

export function rememberedProfile(db: Executor, ref: string): ProfileVersion | undefined {
  return remembered.get(db)?.get(ref);
}

export function rememberProfile(db: Executor, ref: string, version: ProfileVersion): void {
  let byRef = remembered.get(db);
  if (byRef === undefined) remembered.set(db, (byRef = new Map()));
  byRef.delete(ref);
  if (byRef.size >= REMEMBERED_REFS) byRef.delete(byRef.keys().next().value!);
  byRef.set(ref, version);
}

export function forgetProfile(db: Executor, ref: string): void {
  remembered.get(db)?.delete(ref);
}
