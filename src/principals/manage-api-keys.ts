import type { Clock } from '../adapters/clock.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { newId } from '../domain/ids.js';
import { requireAdmin } from '../http/guards.js';
import { Problem } from '../http/problems.js';
import { generateApiKey, hashApiKey } from './api-key-secret.js';
import { findPrincipal, insertApiKey, listApiKeys, revokeApiKey, type ApiKeyRow } from './repo.js';

type Deps = { db: Db; clock: Clock };

/** Returns the key in clear exactly once; only its hash is stored. */
export async function createApiKey(
  deps: Deps,
  caller: Caller,
  principalId: string,
  name: string,
): Promise<{ id: string; name: string; key: string }> {
  requireAdmin(caller);
  const key = generateApiKey();
  const id = newId('key');
  await deps.db.transaction(async (tx) => {
    const owner = await findPrincipal(tx, principalId);
    if (owner === undefined) throw new Problem('not-found', 'no such principal');
    await insertApiKey(tx, { id, principalId, name: name.trim(), keyHash: hashApiKey(key), createdAt: deps.clock.now() });
    await appendAudit(tx, deps.clock, {
      actor: { id: caller.id, kind: caller.kind },
      action: 'api-key.created',
      sourceIp: caller.sourceIp,
      details: { principalId, keyId: id, name },
    });
  });
  return { id, name: name.trim(), key };
}

export async function listKeysOf(deps: Deps, caller: Caller, principalId: string): Promise<ApiKeyRow[]> {
  requireAdmin(caller);
  if ((await findPrincipal(deps.db, principalId)) === undefined) throw new Problem('not-found', 'no such principal');
  return listApiKeys(deps.db, principalId);
}

/** An admin, or the key's owner, revokes it; from then on it is refused. */
export async function revokeKey(deps: Deps, caller: Caller, principalId: string, keyId: string): Promise<void> {
  if (!caller.isAdmin && caller.id !== principalId) throw new Problem('not-found', 'no such API key');
  await deps.db.transaction(async (tx) => {
    const revoked = await revokeApiKey(tx, principalId, keyId, deps.clock.now());
    if (revoked === undefined) throw new Problem('not-found', 'no such API key');
    await appendAudit(tx, deps.clock, {
      actor: { id: caller.id, kind: caller.kind },
      action: 'api-key.revoked',
      sourceIp: caller.sourceIp,
      details: { principalId, keyId },
    });
  });
}
