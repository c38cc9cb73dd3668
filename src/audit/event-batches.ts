// The audit events in id order as a verification reads them where it does not COPY them (PGlite,
// and the verification of one caller's own events): keyset batches of plain rows.
import { sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import type { ProofEvent } from './proof.js';
import { rowsOf } from './writer.js';

const BATCH = 5_000;

interface EventRow {
  id: string;
  occurred_at: string;
  actor_id: string;
  actor_kind: string;
  action: string;
  request_id: string | null;
  profile_id: string | null;
  source_ip: string | null;
  /** As text: the drivers differ in whether they parse jsonb. */
  details: string;
  prev_hash: string | null;
  hash: string;
}

/**
 * The events in id order (those after `from.after` up to `from.through`, when given), in keyset
 * batches, each asked for while the one before is checked. Raw rows with the id and time already
 * as text: drizzle's per-row mapping would cost more than the hashing does. (Ordered by the
 * column, not by the text alias, which would sort '10' before '2'.)
 */
export async function* eventBatches(tx: Tx, from: { after?: string; through?: string } = {}): AsyncGenerator<ProofEvent[]> {
  const upTo = from.through === undefined ? sql`` : sql`and audit_events.id <= ${from.through}::bigint`;
  const fetch = async (after: string | undefined) =>
    rowsOf<EventRow>(
      await tx.execute(
        sql`select id::text, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at, actor_id, actor_kind, action,
              request_id, profile_id, source_ip, details::text as details, prev_hash, hash
            from audit_events where audit_events.id > ${after ?? '0'}::bigint ${upTo} order by audit_events.id limit ${BATCH}`,
      ),
    );
  let pending = fetch(from.after);
  for (;;) {
    const rows = await pending;
    if (rows.length === BATCH) {
      pending = fetch(rows.at(-1)!.id);
      pending.catch(() => {});
    }
    if (rows.length > 0) {
      yield rows.map((r) => ({
        id: r.id,
        occurredAt: r.occurred_at,
        actor: { id: r.actor_id, kind: r.actor_kind },
        action: r.action,
        requestId: r.request_id,
        profileId: r.profile_id,
        sourceIp: r.source_ip,
        details: JSON.parse(r.details) as unknown,
        prevHash: r.prev_hash,
        hash: r.hash,
      }));
    }
    if (rows.length < BATCH) return;
  }
}
