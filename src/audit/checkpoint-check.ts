import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/client.js';
import { blocksAfter, CHECKPOINT_FILE } from './checkpoints.js';
import type { ProofBlock, TrailReport } from './proof.js';

const BATCH = 5_000;

/**
 * The database's blocks against the checkpoint files of this process's
 * BREVET_AUDIT_CHECKPOINT_DIR, which a database superuser cannot write: a block whose hash or
 * signature differs from its checkpoint (the whole trail rewritten and re-sealed, signatures
 * stripped), or a checkpointed block missing from the database (the trail's end deleted with its
 * blocks), breaks the report the database alone found intact. The files are read before the
 * blocks: every block in them was committed before it was written there, so each must be found.
 * Blocks the files do not hold yet (another process seals and writes them, or they are lagging)
 * are not a problem. Lines cut short by a crash are skipped, as the writer skips them.
 */
export async function checkAgainstCheckpoints(report: TrailReport, db: Db, dir: string): Promise<TrailReport> {
  const checkpoints = await readCheckpoints(dir);
  if (checkpoints.size === 0) return report;
  let broken: { block: ProofBlock; problem: string } | undefined;
  const note = (block: ProofBlock, problem: string) => {
    if (broken === undefined || block.seq < broken.block.seq) broken = { block, problem };
  };
  const seen = new Set<number>();
  for (let batch = await blocksAfter(db, 0, BATCH); batch.length > 0; batch = await blocksAfter(db, batch.at(-1)!.seq, BATCH)) {
    for (const block of batch) {
      const checkpoint = checkpoints.get(block.seq);
      if (checkpoint === undefined) continue;
      seen.add(block.seq);
      if (JSON.stringify(block) !== JSON.stringify(checkpoint)) {
        note(checkpoint, checkpoint.signature !== null && block.signature === null ? 'its signature was removed (the checkpoint file holds it)' : 'differs from its checkpoint file (changed after it was sealed)');
      }
    }
    if (batch.length < BATCH) break;
  }
  for (const [seq, checkpoint] of checkpoints) if (!seen.has(seq)) note(checkpoint, 'is in the checkpoint files but missing from the database');
  if (broken === undefined) return report;
  return { ...report, ok: false, firstBrokenId: broken.block.firstEventId, firstBrokenBlock: broken.block.seq, problem: `block ${broken.block.seq}: ${broken.problem}` };
}

/** Every block of the directory's checkpoint files by seq; none when the directory cannot be read. */
async function readCheckpoints(dir: string): Promise<Map<number, ProofBlock>> {
  const bySeq = new Map<number, ProofBlock>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => CHECKPOINT_FILE.test(n)).sort()) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      try {
        const block = JSON.parse(line) as ProofBlock;
        if (Number.isInteger(block.seq)) bySeq.set(block.seq, block);
      } catch {
        continue;
      }
    }
  }
  return bySeq;
}
