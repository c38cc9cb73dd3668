import { and, asc, desc, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import { auditBlocks, auditEvents } from '../db/schema.js';
import { GENESIS_HASH, blockHash, blockRoot, type ProofBlock } from './proof.js';
import type { BlockSigner } from './signing-key.js';
import { recordDeliveries, type WebhookConfig } from '../webhooks/deliveries.js';
import { rowsOf } from './writer.js';

/** Arbitrary constant naming the sealers' advisory lock: held by a sealer for one block, never by writers. */
export const SEAL_LOCK_ID = 7_301_924;
/** Events per block at most: a block's transaction stays short however far behind sealing is. */
export const MAX_BLOCK_EVENTS = 5_000;
/** How often the sealer looks for committed events: a committed event is sealed within about two ticks. */
export const SEAL_EVERY_MS = 250;

/**
 * Every event with an id up to `through` is final once every transaction whose id is below
 * `xmax` has ended: writers take their transaction id before drawing an event id (writer.ts), so
 * a transaction holding an id up to `through` had its transaction id when `xmax` was read.
 */
interface Boundary {
  through: bigint;
  xmax: string;
}

export interface Sealer {
  /**
   * One step, never waiting: seals, in blocks, every event up to the boundary taken by the step
   * before if every transaction that could still add one below it has ended; then takes the next
   * boundary. A transaction held open delays sealing (nothing after it is sealed first) but is
   * never skipped.
   */
  tick(): Promise<ProofBlock[]>;
  /** Seals every event committed before the call, waiting for transactions still open and for other sealers (tests). */
  catchUp(): Promise<ProofBlock[]>;
}

export interface SealerDeps {
  db: Db;
  clock: Clock;
  signer: BlockSigner | undefined;
  /** Each block is also announced as the webhook `audit.checkpoint`, recorded in the block's own transaction. */
  webhooks?: WebhookConfig;
  /** Queues the deliveries recorded with a block, once it is committed (the reconciler catches any missed). */
  queueDeliveries?: (deliveryIds: string[]) => Promise<void>;
}

export function createSealer(deps: SealerDeps, options: { maxBlockEvents?: number } = {}): Sealer {
  const max = options.maxBlockEvents ?? MAX_BLOCK_EVENTS;
  let pending: Boundary | undefined;
  /** Seals through `through`; when another sealer holds the lock, stops (or, `wait`, tries again until it is free). */
  const sealThrough = async (through: bigint, wait: boolean) => {
    const sealed: ProofBlock[] = [];
    for (;;) {
      const block = await sealBlock(deps, through, max);
      if (block === 'busy' && wait) await new Promise((resolve) => setTimeout(resolve, 10));
      else if (block === 'busy' || block === undefined) return sealed;
      else {
        sealed.push(block.block);
        if (block.deliveryIds.length > 0) await deps.queueDeliveries?.(block.deliveryIds);
      }
    }
  };
  return {
    async tick() {
      let sealed: ProofBlock[] = [];
      if (pending !== undefined && (await boundaryReached(deps.db, pending))) {
        sealed = await sealThrough(pending.through, false);
        pending = undefined;
      }
      pending ??= await takeBoundary(deps.db);
      return sealed;
    },
    async catchUp() {
      const boundary = await takeBoundary(deps.db);
      while (!(await boundaryReached(deps.db, boundary))) await new Promise((resolve) => setTimeout(resolve, 10));
      return sealThrough(boundary.through, true);
    },
  };
}

async function takeBoundary(db: Db): Promise<Boundary> {
  // Two statements, in this order: the ids drawn so far, then a snapshot taken after that (a
  // statement's snapshot is taken before its expressions run, so one statement would not do).
  const [ids] = rowsOf<{ through: string }>(await db.execute(sql`select coalesce(pg_sequence_last_value('audit_events_id_seq'), 0)::text as through`));
  const [snapshot] = rowsOf<{ xmax: string }>(await db.execute(sql`select pg_snapshot_xmax(pg_current_snapshot())::text as xmax`));
  return { through: BigInt(ids!.through), xmax: snapshot!.xmax };
}

async function boundaryReached(db: Db, boundary: Boundary): Promise<boolean> {
  const [row] = rowsOf<{ reached: boolean }>(
    await db.execute(sql`select pg_snapshot_xmin(pg_current_snapshot()) >= ${boundary.xmax}::xid8 as reached`),
  );
  return row!.reached;
}

/**
 * Seals the next block, up to MAX events with ids up to `through`, in one transaction under the
 * sealers' lock: a sealer killed mid-block leaves nothing, and two sealers never seal the same
 * event (the second one reads the first one's block once it has the lock). Undefined when there
 * is nothing to seal; 'busy' when another sealer is at work.
 */
async function sealBlock(deps: SealerDeps, through: bigint, max: number): Promise<{ block: ProofBlock; deliveryIds: string[] } | 'busy' | undefined> {
  return deps.db.transaction(async (tx) => {
    const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${SEAL_LOCK_ID}) as locked`));
    if (lock?.locked !== true) return 'busy';
    const [last] = await tx
      .select({ seq: auditBlocks.seq, lastEventId: auditBlocks.lastEventId, hash: auditBlocks.hash })
      .from(auditBlocks)
      .orderBy(desc(auditBlocks.seq))
      .limit(1);
    // The first block starts after the events written before SPEC §11 and links to their chain's head.
    const [head] =
      last === undefined
        ? await tx.select({ id: auditEvents.id, hash: auditEvents.hash }).from(auditEvents).where(isNull(auditEvents.xid)).orderBy(desc(auditEvents.id)).limit(1)
        : [];
    const after = last?.lastEventId ?? head?.id ?? 0n;
    if (after >= through) return undefined;
    const events = await tx
      .select({ id: auditEvents.id, hash: auditEvents.hash })
      .from(auditEvents)
      .where(and(gt(auditEvents.id, after), lte(auditEvents.id, through)))
      .orderBy(asc(auditEvents.id))
      .limit(max);
    if (events.length === 0) return undefined;
    const fields = {
      seq: (last?.seq ?? 0) + 1,
      firstEventId: events[0]!.id.toString(),
      lastEventId: events.at(-1)!.id.toString(),
      count: events.length,
      root: blockRoot(events.map((e) => e.hash)),
      prevBlockHash: last?.hash ?? head?.hash ?? GENESIS_HASH,
      sealedAt: deps.clock.now().toISOString(),
    };
    const hash = blockHash(fields);
    const block: ProofBlock = { ...fields, hash, signature: deps.signer?.sign(hash) ?? null };
    await tx.insert(auditBlocks).values({
      ...fields,
      firstEventId: BigInt(fields.firstEventId),
      lastEventId: BigInt(fields.lastEventId),
      sealedAt: new Date(fields.sealedAt),
      hash,
      signature: block.signature,
    });
    const deliveryIds =
      deps.webhooks === undefined
        ? []
        : await recordDeliveries(tx, deps.clock.now(), deps.webhooks, { event: 'audit.checkpoint', requestId: null, payload: { block } });
    return { block, deliveryIds };
  });
}

/** Runs the sealer every SEAL_EVERY_MS until stopped; `onSealed` sees every block it sealed. */
export function startSealerLoop(
  sealer: Sealer,
  logger: Logger,
  onSealed: (blocks: ProofBlock[]) => Promise<void> = async () => {},
  everyMs = SEAL_EVERY_MS,
): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = sealer
      .tick()
      .then(onSealed)
      .catch((error: unknown) => logger.error({ err: error }, 'audit sealing failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs);
      });
  };
  timer = setTimeout(tick, everyMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
