import { sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { Tx } from '../db/client.js';
import { auditEvents } from '../db/schema.js';
import { eventHash } from './proof.js';

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

/**
 * Appends one event inside the caller's transaction, so the event commits with the change it
 * records or not at all (fail closed). The event carries its own hash (SPEC §11) and takes no
 * lock: writers never wait for one another. The sealer (audit/sealer.ts) later seals committed
 * events, in id order, into signed blocks.
 *
 * The transaction's id is assigned before the event id is drawn (the materialized CTE runs
 * first), and the row keeps it (column default): a transaction that holds an event id is then
 * always in the snapshots the sealer takes its boundary from (see sealer.ts).
 */
export async function appendAudit(tx: Tx, clock: Clock, entry: AuditEntry): Promise<void> {
  const drawn = await tx.execute(
    sql`with xact as materialized (select pg_current_xact_id()) select nextval('audit_events_id_seq')::text as id from xact`,
  );
  const id = rowsOf<{ id: string }>(drawn)[0]!.id;
  const occurredAt = clock.now();
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
    prevHash: null,
    hash: eventHash(fields),
  });
}

/** node-postgres returns `{ rows }`, PGlite returns `{ rows }` too, but typed apart. */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}
