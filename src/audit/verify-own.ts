// GET /v1/audit/verify for a caller who is neither auditor nor admin (SPEC §7: "+ own requests"):
// the events of their own requests, each checked as a verification of the whole trail checks it,
// with the blocks that seal them. Events of other people are read only as the blocks need them
// (their hashes go into the Merkle roots) and are never shown.
import type { KeyObject } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { blockView } from './checkpoints.js';
import { auditBlocks } from '../db/schema.js';
import { verifyTrail, type ProofBlock, type TrailReport } from './proof.js';
import { eventBatches } from './event-batches.js';
import { rowsOf } from './writer.js';

/**
 * Verifies, in one snapshot, every part of the trail that holds an event of the caller's
 * requests, each part being a block and the events since the block before it (linked to that
 * block; its root over all of its events, its hash and signature; for block 1, the milestone-1
 * chain before it), and so every such event's hash. `checked` counts the caller's events; a
 * trail broken elsewhere is not this caller's to see.
 */
export function verifyOwnEvents(db: Db, requesterId: string, publicKey: KeyObject | undefined): Promise<TrailReport> {
  return db.transaction(
    async (tx) => {
      // Each event with the part of the trail that holds it: the first block ending at or after it
      // and the gap before that block (an event there, in no block, breaks that part); none when
      // it is past the last block (not sealed yet).
      const own = rowsOf<{ id: string; seq: string | null }>(
        await tx.execute(sql`
          select e.id::text as id, b.seq::text as seq
          from audit_events e
          left join lateral (select seq from audit_blocks where last_event_id >= e.id order by last_event_id limit 1) b on true
          where e.request_id in (select id from requests where requester_id = ${requesterId})
          order by e.id`),
      );
      const [head] = await tx.select().from(auditBlocks).orderBy(sql`${auditBlocks.seq} desc`).limit(1);
      const seqs = new Set(own.flatMap((event) => (event.seq === null ? [] : [Number(event.seq)])));
      const ownIds = new Set(own.map((event) => event.id));
      const joined: TrailReport = {
        ok: true,
        checked: 0,
        firstBrokenId: null,
        firstBrokenBlock: null,
        problem: null,
        sealedThrough: head === undefined ? null : head.lastEventId.toString(),
        blocks: 0,
        unsealed: own.filter((event) => event.seq === null).length,
        unsigned: 0,
      };
      for (const seq of [...seqs].sort((a, b) => a - b)) {
        const part = await verifyBlock(tx, seq, publicKey);
        joined.blocks += part.report.blocks;
        joined.unsigned += part.report.unsigned;
        // The events verifyTrail got to, in the order it checks them: up to the first broken one.
        joined.checked += part.checkedIds.slice(0, part.report.checked).filter((id) => ownIds.has(id)).length;
        if (!part.report.ok) {
          const { firstBrokenId, firstBrokenBlock, problem } = part.report;
          return { ...joined, ok: false, firstBrokenId, firstBrokenBlock, problem };
        }
      }
      return joined;
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/** Block `seq` verified as the part of the trail that follows the block before it (block 1: with what comes before it). */
async function verifyBlock(tx: Tx, seq: number, publicKey: KeyObject | undefined): Promise<{ report: TrailReport; checkedIds: string[] }> {
  const rows = (await tx.select().from(auditBlocks).where(sql`${auditBlocks.seq} in (${seq - 1}, ${seq})`).orderBy(auditBlocks.seq)).map(blockView);
  const block = rows.find((b) => b.seq === seq)!;
  const before = rows.find((b) => b.seq === seq - 1);
  const checkedIds: string[] = [];
  async function* watched<E extends { id: string }>(batches: AsyncIterable<E[]>): AsyncGenerator<E[]> {
    for await (const batch of batches) {
      for (const event of batch) checkedIds.push(event.id);
      yield batch;
    }
  }
  const blocks = (async function* (): AsyncGenerator<ProofBlock> {
    yield block;
  })();
  if (before === undefined) {
    const report = await verifyTrail(watched(eventBatches(tx, { through: block.lastEventId })), blocks, publicKey);
    return { report, checkedIds };
  }
  const [lastEvent] = rowsOf<{ hash: string; prev_hash: string | null }>(
    await tx.execute(sql`select hash, prev_hash from audit_events where id = ${before.lastEventId}::bigint`),
  );
  const report = await verifyTrail(watched(eventBatches(tx, { after: before.lastEventId, through: block.lastEventId })), blocks, publicKey, {
    after: { previous: before, lastEvent: { id: before.lastEventId, hash: lastEvent?.hash ?? '', prevHash: lastEvent?.prev_hash ?? null } },
  });
  return { report, checkedIds };
}
