import { desc, sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { Tx } from '../db/client.js';
import { auditEvents } from '../db/schema.js';
import { GENESIS_HASH, chainHash } from './chain.js';

export type AuditActorKind = 'person' | 'service' | 'system' | 'slack';

export interface AuditActor {
  id: string;
  kind: AuditActorKind;
}

export const systemActor: AuditActor = { id: 'system', kind: 'system' };

export interface AuditEntry {
  actor: AuditActor;
  action: string;
  requestId?: string | null;
  profileId?: string | null;
  sourceIp?: string | null;
  /** Facts about the event. Never a secret: callers pass ids and metadata only. */
  details?: Record<string, unknown>;
}

/** Arbitrary constant naming the chain's advisory lock. */
export const CHAIN_LOCK_ID = 7_301_923;

/**
 * Appends one event to the hash chain inside the caller's transaction, so the event commits
 * with the change it records or not at all (fail closed).
 *
 * The chain is serialised by a transaction-scoped advisory lock taken here and released at
 * commit: the id is drawn and the previous hash read under it, so id order is chain order
 * and concurrent writers can never fork the chain. Commands therefore write their audit
 * events last, to hold the lock for as short a time as possible.
 */
export async function appendAudit(tx: Tx, clock: Clock, entry: AuditEntry): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK_ID})`);
  const [last] = await tx.select({ hash: auditEvents.hash }).from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
  const id = rowsOf<{ id: string }>(await tx.execute(sql`select nextval('audit_events_id_seq')::text as id`))[0]!.id;
  const occurredAt = clock.now();
  const prevHash = last?.hash ?? GENESIS_HASH;
  const fields = {
    id,
    occurredAt: occurredAt.toISOString(),
    actor: entry.actor,
    action: entry.action,
    requestId: entry.requestId ?? null,
    profileId: entry.profileId ?? null,
    sourceIp: entry.sourceIp ?? null,
    details: entry.details ?? {},
  };
  await tx.insert(auditEvents).values({
    id: BigInt(id),
    occurredAt,
    actorId: entry.actor.id,
    actorKind: entry.actor.kind,
    action: entry.action,
    requestId: fields.requestId,
    profileId: fields.profileId,
    sourceIp: fields.sourceIp,
    details: fields.details,
    prevHash,
    hash: chainHash(prevHash, fields),
  });
}

/** node-postgres returns `{ rows }`, PGlite returns `{ rows }` too, but typed apart. */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}
