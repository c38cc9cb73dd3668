import { open, readdir, appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { asc, gt } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { auditBlocks } from '../db/schema.js';
import type { ProofBlock } from './proof.js';

/** One file per UTC day of sealing: `audit-checkpoints-YYYY-MM-DD.ndjson`. */
export const CHECKPOINT_FILE = /^audit-checkpoints-\d{4}-\d{2}-\d{2}\.ndjson$/;
export const checkpointFileOf = (block: Pick<ProofBlock, 'sealedAt'>) => `audit-checkpoints-${block.sealedAt.slice(0, 10)}.ndjson`;

export function blockView(row: typeof auditBlocks.$inferSelect): ProofBlock {
  return {
    seq: row.seq,
    firstEventId: row.firstEventId.toString(),
    lastEventId: row.lastEventId.toString(),
    count: row.count,
    root: row.root,
    prevBlockHash: row.prevBlockHash,
    sealedAt: row.sealedAt.toISOString(),
    hash: row.hash,
    signature: row.signature,
  };
}

/** Blocks after `afterSeq`, in seq order (GET /v1/audit/checkpoints, the checkpoint files, verify). */
export async function blocksAfter(db: Db | Tx, afterSeq: number, limit: number): Promise<ProofBlock[]> {
  const rows = await db.select().from(auditBlocks).where(gt(auditBlocks.seq, afterSeq)).orderBy(asc(auditBlocks.seq)).limit(limit);
  return rows.map(blockView);
}

/**
 * Appends every sealed block to `dir`, one JSON line each, in seq order — the blocks of any
 * sealer, so each process's directory is complete on its own. Where it left off is read back from
 * the files at the first sync: a block appended twice (a crash between append and bookkeeping)
 * is harmless, one missing is not.
 */
export function createCheckpointWriter(db: Db, dir: string): { sync(): Promise<number> } {
  let lastSeq: number | undefined;
  return {
    async sync() {
      lastSeq ??= await lastSeqIn(dir);
      let written = 0;
      for (;;) {
        const blocks = await blocksAfter(db, lastSeq, 1_000);
        if (blocks.length === 0) return written;
        const byFile = new Map<string, string>();
        for (const block of blocks) {
          const file = checkpointFileOf(block);
          byFile.set(file, `${byFile.get(file) ?? ''}${JSON.stringify(block)}\n`);
        }
        for (const [file, lines] of byFile) await appendFile(path.join(dir, file), lines, { mode: 0o640 });
        lastSeq = blocks.at(-1)!.seq;
        written += blocks.length;
      }
    },
  };
}

/** The highest seq in the checkpoint files (their last lines), 0 when there are none. */
async function lastSeqIn(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  let highest = 0;
  for (const name of (await readdir(dir)).filter((n) => CHECKPOINT_FILE.test(n))) {
    const file = await open(path.join(dir, name), 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, 64 * 1024);
      const { buffer } = await file.read(Buffer.alloc(length), 0, length, size - length);
      const text = buffer.toString('utf8');
      // A line cut short by a crash is ended here, so the next append starts a line of its own.
      if (size > 0 && !text.endsWith('\n')) await appendFile(path.join(dir, name), '\n');
      const lines = text.split('\n').slice(0, -1);
      for (const line of lines.reverse()) {
        try {
          highest = Math.max(highest, (JSON.parse(line) as ProofBlock).seq);
          break;
        } catch {
          continue;
        }
      }
    } finally {
      await file.close();
    }
  }
  return highest;
}
