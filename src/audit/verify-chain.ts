import { and, asc, desc, gt, gte, lt, lte } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { auditEvents } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { requireAuditorOrAdmin } from '../http/guards.js';
import { GENESIS_HASH, chainHash } from './chain.js';
import { auditView } from './view.js';

const BATCH = 5_000;

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBrokenId: string | null;
}

/**
 * Recomputes the hash chain in id order (SPEC §6) and names the first event that does not
 * hold: its hash does not match its content (a changed field), or its prevHash does not match
 * the hash of the event before it (an event deleted or inserted before it).
 *
 * The chain proves the order and content of what is there; an attacker with superuser rights
 * who rewrites the tail and every hash after it is caught only by comparing with a head hash
 * kept elsewhere (see docs/audit.md).
 */
export async function verifyChain(deps: { db: Db }, caller: Caller, range: { from?: Date; to?: Date } = {}): Promise<VerifyResult> {
  requireAuditorOrAdmin(caller);
  const inRange = and(
    range.from === undefined ? undefined : gte(auditEvents.occurredAt, range.from),
    range.to === undefined ? undefined : lt(auditEvents.occurredAt, range.to),
  );
  // The link into the range: the hash of the last event before it, or genesis.
  const [firstInRange] = await deps.db.select({ id: auditEvents.id }).from(auditEvents).where(inRange).orderBy(asc(auditEvents.id)).limit(1);
  if (firstInRange === undefined) return { ok: true, checked: 0, firstBrokenId: null };
  const [before] = await deps.db
    .select({ hash: auditEvents.hash })
    .from(auditEvents)
    .where(lt(auditEvents.id, firstInRange.id))
    .orderBy(desc(auditEvents.id))
    .limit(1);
  const [lastInRange] = await deps.db.select({ id: auditEvents.id }).from(auditEvents).where(inRange).orderBy(desc(auditEvents.id)).limit(1);

  let expectedPrev = before?.hash ?? GENESIS_HASH;
  let checked = 0;
  let after = firstInRange.id - 1n;
  for (;;) {
    // Every event between the first and last of the range is checked, so one inserted with an
    // out-of-range time cannot hide in the middle of it.
    const rows = await deps.db
      .select()
      .from(auditEvents)
      .where(and(gt(auditEvents.id, after), lte(auditEvents.id, lastInRange!.id)))
      .orderBy(asc(auditEvents.id))
      .limit(BATCH);
    for (const row of rows) {
      const { prevHash, hash, ...fields } = auditView(row);
      if (prevHash !== expectedPrev || chainHash(prevHash, fields) !== hash) {
        return { ok: false, checked: checked + 1, firstBrokenId: row.id.toString() };
      }
      expectedPrev = hash;
      checked += 1;
    }
    if (rows.length < BATCH) return { ok: true, checked, firstBrokenId: null };
    after = rows.at(-1)!.id;
  }
}
