import { asc, gt } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { auditEvents } from '../db/schema.js';
import { blocksAfter } from './checkpoints.js';
import type { Caller } from '../domain/caller.js';
import { requireAuditorOrAdmin } from '../http/guards.js';
import { verifyTrail, type ProofBlock, type ProofEvent, type TrailReport } from './proof.js';
import type { BlockSigner } from './signing-key.js';
import { auditView } from './view.js';

const BATCH = 5_000;

/**
 * GET /v1/audit/verify (SPEC §11): every event's hash, every block's root, chain and signature,
 * read in one snapshot so that blocks sealed meanwhile never meet events read before them.
 * Events past the last block are counted as unsealed; they do not make the trail broken.
 */
export async function verifyAudit(deps: { db: Db; auditSigner: BlockSigner | undefined }, caller: Caller): Promise<TrailReport> {
  requireAuditorOrAdmin(caller);
  return deps.db.transaction((tx) => verifyTrail(eventBatches(tx), blocks(tx), deps.auditSigner?.publicKey), {
    isolationLevel: 'repeatable read',
    accessMode: 'read only',
  });
}

async function* eventBatches(tx: Tx): AsyncGenerator<ProofEvent[]> {
  let after: bigint | undefined;
  for (;;) {
    const rows = await tx
      .select()
      .from(auditEvents)
      .where(after === undefined ? undefined : gt(auditEvents.id, after)).orderBy(asc(auditEvents.id)).limit(BATCH);
    if (rows.length > 0) yield rows.map(auditView);
    if (rows.length < BATCH) return;
    after = rows.at(-1)!.id;
  }
}

async function* blocks(tx: Tx): AsyncGenerator<ProofBlock> {
  let after = 0;
  for (;;) {
    const batch = await blocksAfter(tx, after, BATCH);
    yield* batch;
    if (batch.length < BATCH) return;
    after = batch.at(-1)!.seq;
  }
}
