import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Database, Db, Tx } from '../db/client.js';
import * as schema from '../db/schema.js';
import { blocksAfter } from './checkpoints.js';
import type { Caller } from '../domain/caller.js';
import { requireAuditorOrAdmin } from '../http/guards.js';
import { EVENT_COPY_COLUMNS, EVENT_COPY_SESSION, eventCopyParser, type CopiedEvent } from './event-copy.js';
import { verifyTrail, type ProofBlock, type ProofEvent, type TrailReport } from './proof.js';
import type { BlockSigner } from './signing-key.js';
import { rowsOf } from './writer.js';

const BATCH = 5_000;

export interface VerifyDeps {
  db: Db;
  /** With node-postgres's pool, the events are streamed by COPY (PGlite reads them in batches). */
  database?: Pick<Database, 'pool'>;
  auditSigner: BlockSigner | undefined;
}

/**
 * GET /v1/audit/verify (SPEC §11): every event's hash, every block's root, chain and signature,
 * read in one snapshot so that blocks sealed meanwhile never meet events read before them.
 * Events past the last block are counted as unsealed; they do not make the trail broken.
 */
export async function verifyAudit(deps: VerifyDeps, caller: Caller): Promise<TrailReport> {
  requireAuditorOrAdmin(caller);
  const publicKey = deps.auditSigner?.publicKey;
  if (deps.database?.pool !== undefined) return verifyCopied(deps.database.pool, publicKey);
  return deps.db.transaction((tx) => verifyTrail(eventBatches(tx), blocks(tx), publicKey), {
    isolationLevel: 'repeatable read',
    accessMode: 'read only',
  });
}

/**
 * PostgreSQL: the blocks, then every event in one COPY of its text, in one repeatable-read
 * transaction. The events are never built as objects: each row gives its canonical JSON directly
 * (event-copy.ts), which is what a verification at hundreds of thousands of events a second can afford.
 */
async function verifyCopied(pool: pg.Pool, publicKey: KeyObject | undefined): Promise<TrailReport> {
  const client = await pool.connect();
  let stopped = true;
  try {
    await client.query(`begin isolation level repeatable read read only; ${EVENT_COPY_SESSION}`);
    const all: ProofBlock[] = [];
    const db = drizzle(client, { schema }) as unknown as Db;
    for (let batch = await blocksAfter(db, 0, BATCH); ; batch = await blocksAfter(db, all.at(-1)!.seq, BATCH)) {
      all.push(...batch);
      if (batch.length < BATCH) break;
    }
    const stream = client.query(copyTo(`copy (select ${EVENT_COPY_COLUMNS} from audit_events order by id) to stdout`, { highWaterMark: 1 << 20 }));
    let done = false;
    const report = await verifyTrail(copied(stream, () => (done = true)), listed(all), publicKey, { contentOf: (e: CopiedEvent) => e.canonical });
    // A verification that stopped at a broken event left the COPY unread: the connection is dropped, not reused.
    stopped = !done;
    if (done) await client.query('commit');
    return report;
  } finally {
    client.release(stopped);
  }
}

async function* listed(blocks: readonly ProofBlock[]): AsyncGenerator<ProofBlock> {
  yield* blocks;
}

async function* copied(stream: AsyncIterable<Buffer>, onEnd: () => void): AsyncGenerator<CopiedEvent[]> {
  const parser = eventCopyParser();
  for await (const chunk of stream) {
    const events = parser.push(chunk);
    if (events.length > 0) yield events;
  }
  parser.end();
  onEnd();
}

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
 * The events in id order, in keyset batches, each asked for while the one before is checked.
 * Raw rows with the id and time already as text: drizzle's per-row mapping would cost more than
 * the hashing does. (Ordered by the column, not by the text alias, which would sort '10' before '2'.)
 */
async function* eventBatches(tx: Tx): AsyncGenerator<ProofEvent[]> {
  const fetch = async (after: string | undefined) =>
    rowsOf<EventRow>(
      await tx.execute(
        sql`select id::text, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at, actor_id, actor_kind, action,
              request_id, profile_id, source_ip, details::text as details, prev_hash, hash
            from audit_events ${after === undefined ? sql`` : sql`where audit_events.id > ${after}::bigint`} order by audit_events.id limit ${BATCH}`,
      ),
    );
  let pending = fetch(undefined);
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

async function* blocks(tx: Tx): AsyncGenerator<ProofBlock> {
  let after = 0;
  for (;;) {
    const batch = await blocksAfter(tx, after, BATCH);
    yield* batch;
    if (batch.length < BATCH) return;
    after = batch.at(-1)!.seq;
  }
}
