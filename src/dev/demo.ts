import { and, arrayOverlaps, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { Deps } from '../deps.js';
import { principals } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { createApiKey } from '../principals/manage-api-keys.js';
import { createPrincipal } from '../principals/manage-principals.js';
import { findPersonByEmail } from '../principals/repo.js';
import { createProfile } from '../profiles/manage-profiles.js';
import { findCurrentProfile } from '../profiles/repo.js';

/** The people and profile of `npm start -- --demo` (SPEC §10.2). */
export const DEMO_PEOPLE = [
  { name: 'alice', email: 'alice@example.com', displayName: 'Alice (demo)', groups: ['dev'] },
  { name: 'bob', email: 'bob@example.com', displayName: 'Bob (demo)', groups: ['sre'] },
] as const;

export const DEMO_PROFILE = {
  name: 'demo',
  description: 'Demo profile of dev mode: Alice (dev) asks, Bob (sre) approves',
  // LocalStack's and moto's default account: pointed at one of them, the whole flow runs for real.
  roleArn: 'arn:aws:iam::000000000000:role/brevet-demo',
  maxDurationSeconds: 3600,
  defaultDurationSeconds: 1800,
  requesters: { groups: ['dev'] },
  approval: { required: 1, approverGroups: ['sre'] },
};

export interface DemoSeed {
  /** API keys of the people created now (shown once); empty when they existed already. */
  keys: { name: string; email: string; key: string }[];
  profileCreated: boolean;
}

/**
 * Creates what is missing of the demo, through the same commands as the admin API, acting as the
 * installation's first enabled administrator (dev mode's bootstrap admin), so the audit trail
 * says who did it. Whatever exists already is left alone: a second start creates nothing.
 */
export async function seedDemo(deps: Pick<Deps, 'db' | 'clock' | 'config' | 'policyAnalyzer'>): Promise<DemoSeed> {
  const admin = await firstAdmin(deps.db, deps.config.adminGroups);
  if (admin === undefined) throw new Error('the demo needs an administrator to act as, and the database has none enabled');
  const keys: DemoSeed['keys'] = [];
  for (const person of DEMO_PEOPLE) {
    if ((await findPersonByEmail(deps.db, person.email)) !== undefined) continue;
    const created = await createPrincipal(deps, admin, { email: person.email, displayName: person.displayName, groups: [...person.groups] });
    const { key } = await createApiKey(deps, admin, created.id, 'demo');
    keys.push({ name: person.name, email: person.email, key });
  }
  const profileCreated = (await findCurrentProfile(deps.db, DEMO_PROFILE.name)) === undefined;
  if (profileCreated) await createProfile(deps, admin, DEMO_PROFILE);
  return { keys, profileCreated };
}

async function firstAdmin(db: Db, adminGroups: string[]): Promise<Caller | undefined> {
  if (adminGroups.length === 0) return undefined;
  const [row] = await db
    .select()
    .from(principals)
    .where(and(eq(principals.disabled, false), arrayOverlaps(principals.groups, adminGroups)))
    .orderBy(asc(principals.createdAt))
    .limit(1);
  if (row === undefined) return undefined;
  return {
    id: row.id,
    kind: row.kind,
    email: row.email,
    displayName: row.displayName,
    groups: row.groups,
    amr: [],
    via: 'api-key',
    isAdmin: true,
    isAuditor: false,
    sourceIp: null,
  };
}
