import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { Database, Db, Tx } from '../db/client.js';
import * as schema from '../db/schema.js';
import { checkAgainstCheckpoints } from './checkpoint-check.js';
import { blocksAfter } from './checkpoints.js';
import type { Caller } from '../domain/caller.js';
import { EVENT_COPY_SESSION } from './event-copy.js';
import { verifyTrail, type ProofBlock, type TrailReport } from './proof.js';
import type { BlockSigner } from './signing-key.js';
import { joinReports, splitTrail, verifyInLanes, verifyPart, type TrailPart } from './verify-parts.js';
import { verifyInWorker } from './verify-workers.js';
import { verifyOwnEvents } from './verify-own.js';
import { eventBatches } from './event-batches.js';
import { rowsOf } from './writer.js';

const BATCH = 5_000;

export interface VerifyDeps {
  db: Db;
  /** With node-postgres's pool, the events are streamed by COPY (PGlite reads them in batches). */
  database?: Pick<Database, 'pool'>;
  auditSigner: BlockSigner | undefined;
  /** BREVET_AUDIT_CHECKPOINT_DIR: the blocks are also checked against its files (checkpoint-check.ts). */
  checkpointDir?: string | undefined;
}

/**
 * GET /v1/audit/verify (SPEC §11): every event's hash, every block's root, chain and signature,
 * read in one snapshot so that blocks sealed meanwhile never meet events read before them.
 * Events past the last block are counted as unsealed; they do not make the trail broken.
 */
export async function verifyAudit(deps: VerifyDeps, caller: Caller, options: VerifyOptions = {}): Promise<TrailReport> {
  const publicKey = deps.auditSigner?.publicKey;
  if (!caller.isAdmin && !caller.isAuditor) return verifyOwnEvents(deps.db, caller.id, publicKey);
  const report =
    deps.database?.pool !== undefined
      ? await verifyCopied(deps.database.pool, publicKey, options)
      : await deps.db.transaction((tx) => verifyTrail(eventBatches(tx), blocks(tx), publicKey), {
          isolationLevel: 'repeatable read',
          accessMode: 'read only',
        });
  // What the database alone cannot show (a rewrite re-sealed whole, signatures stripped), the
  // checkpoint files can, when this process keeps them.
  if (!report.ok || deps.checkpointDir === undefined) return report;
  return checkAgainstCheckpoints(report, deps.db, deps.checkpointDir);
}

/** How GET /v1/audit/verify splits a trail (tests make parts of a few events). */
export interface VerifyOptions {
  /** Parts verified side by side at most, each in a worker thread (default: the cores this process may use). */
  parts?: number;
  /** Sealed events a part has at least: below, starting a worker thread costs more than it saves. */
  minPartEvents?: number;
}

/**
 * PostgreSQL: the blocks, then the events by COPY of their text (the events are never built as
 * objects: each row gives its canonical JSON directly, event-copy.ts), in one repeatable-read
 * snapshot. A long trail is verified in parts side by side (verify-parts.ts), each in a worker
 * thread on a connection of its own that imports the snapshot this transaction exports, so all
 * read one and the same trail while writers and the sealer go on, and this thread goes on
 * answering requests meanwhile. A short one is verified here, in one go.
 */
async function verifyCopied(pool: pg.Pool, publicKey: KeyObject | undefined, options: VerifyOptions): Promise<TrailReport> {
  const client = await pool.connect();
  let reusable = false;
  try {
    await client.query(`begin isolation level repeatable read read only; ${EVENT_COPY_SESSION}`);
    const all: ProofBlock[] = [];
    const db = drizzle(client, { schema }) as unknown as Db;
    for (let batch = await blocksAfter(db, 0, BATCH); ; batch = await blocksAfter(db, all.at(-1)!.seq, BATCH)) {
      all.push(...batch);
      if (batch.length < BATCH) break;
    }
    const threads = options.parts ?? availableParallelism();
    const parts = splitTrail(all, threads * PARTS_PER_THREAD, options.minPartEvents ?? MIN_PART_EVENTS);
    if (parts.length > 1) {
      const { snapshot } = rowsOf<{ snapshot: string }>(await client.query('select pg_export_snapshot() as snapshot'))[0]!;
      const reports = await verifyInLanes(parts, Math.min(threads, parts.length), (part) => inWorker(pool, snapshot, part, publicKey));
      // A trail that does not hold is verified again in one go, in the same snapshot, so that the
      // problem named first is exactly the one a verification in one go names; so is one with a
      // part that could not be verified (a worker that failed, or no connection to spare).
      if (reports.every((r): r is TrailReport => r?.ok === true)) {
        await client.query('commit');
        reusable = true;
        return joinReports(reports);
      }
    }
    const { report, consumed } = await verifyPart(client, { blocks: all, before: undefined, last: true }, publicKey);
    // A verification that stopped at a broken event left the COPY unread: the connection is dropped, not reused.
    if (consumed) {
      await client.query('commit');
      reusable = true;
    }
    return report;
  } finally {
    client.release(!reusable);
  }
}

const MIN_PART_EVENTS = 50_000;
/**
 * Parts a thread verifies, as it takes the next one when done: a thread slowed by another process
 * on its core then verifies fewer, rather than the others waiting for it at the end.
 */
const PARTS_PER_THREAD = 2;

/** One part in a worker thread (verify-workers.ts), on a connection of its own. */
function inWorker(pool: pg.Pool, snapshot: string, part: TrailPart, publicKey: KeyObject | undefined): Promise<TrailReport> {
  return verifyInWorker({
    connectionString: (pool.options as { connectionString?: string }).connectionString,
    snapshot,
    part,
    publicKeyPem: publicKey?.export({ format: 'pem', type: 'spki' }).toString(),
  });
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
