import { sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import { systemActor, appendAudit } from '../audit/writer.js';
import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { auditEvents } from '../db/schema.js';
import { newId } from '../domain/ids.js';
import { generateApiKey, hashApiKey } from './api-key-secret.js';
import { insertApiKey, insertPrincipal, principalsExistInGroups } from './repo.js';

const BOOTSTRAP_LOCK_ID = 7_301_924;

async function bootstrapHappened(tx: Tx): Promise<boolean> {
  const rows = await tx.select({ id: auditEvents.id }).from(auditEvents).where(eq(auditEvents.action, 'principal.bootstrapped')).limit(1);
  return rows.length > 0;
}

/**
 * On a database with no enabled administrator, installs a `bootstrap-admin` service principal
 * with an API key: the given one (BREVET_BOOTSTRAP_ADMIN_KEY), or a random one when
 * `generate` is set (dev mode, which prints it once). Returns the key when it made one.
 */
export async function ensureBootstrapAdmin(
  deps: { db: Db; clock: Clock },
  options: { adminGroups: readonly string[]; givenKey: string | undefined; generate: boolean },
): Promise<{ key: string; generated: boolean } | undefined> {
  if (options.givenKey === undefined && !options.generate) return undefined;
  return deps.db.transaction(async (tx) => {
    // Several API processes may start at once on a fresh database; only one installs the admin.
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_ID})`);
    if (await principalsExistInGroups(tx, options.adminGroups)) return undefined;
    // Once only: a database that had a bootstrap admin does not get one again when its admins
    // are later disabled or renamed, even though the key may still sit in the environment.
    if (await bootstrapHappened(tx)) return undefined;
    const key = options.givenKey ?? generateApiKey();
    const now = deps.clock.now();
    const principalId = newId('prn');
    const keyId = newId('key');
    await insertPrincipal(tx, {
      id: principalId,
      kind: 'service',
      displayName: 'bootstrap-admin',
      groups: [options.adminGroups[0]!],
      createdAt: now,
      updatedAt: now,
    });
    await insertApiKey(tx, { id: keyId, principalId, name: 'bootstrap', keyHash: hashApiKey(key), createdAt: now });
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: 'principal.bootstrapped',
      details: { principalId, keyId, keySource: options.givenKey === undefined ? 'generated' : 'BREVET_BOOTSTRAP_ADMIN_KEY' },
    });
    return { key, generated: options.givenKey === undefined };
  });
}
