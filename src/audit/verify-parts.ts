// The verification of a trail in parts, verified side by side (in worker threads, each on its own
// connection in one exported snapshot): blocks partition the event ids, so a part is a run of
// consecutive blocks with the events up to its last block's last id.
import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { EVENT_COPY_COLUMNS, eventCopyParser, type CopiedEvent } from './event-copy.js';
import { verifyTrail, type ProofBlock, type TrailEvent, type TrailReport } from './proof.js';

/** Consecutive blocks; the events after the block before them (none: from the first event) up to their last id (the last part: all). */
export interface TrailPart {
  blocks: ProofBlock[];
  before: ProofBlock | undefined;
  last: boolean;
}

/**
 * Up to `parts` parts of about as many events each, none under `minPartEvents`; one part (the
 * whole trail) when the blocks are not a clean run — seq 1, 2, 3…, ids rising — since only then do
 * they partition the ids (verifying the whole trail in one go then says what does not hold).
 */
export function splitTrail(blocks: readonly ProofBlock[], parts: number, minPartEvents: number): TrailPart[] {
  const whole = [{ blocks: [...blocks], before: undefined, last: true }];
  let sealed = 0;
  for (const [i, b] of blocks.entries()) {
    if (b.seq !== i + 1 || BigInt(b.firstEventId) > BigInt(b.lastEventId) || (i > 0 && BigInt(b.firstEventId) <= BigInt(blocks[i - 1]!.lastEventId))) return whole;
    sealed += b.count;
  }
  const n = Math.min(parts, Math.floor(sealed / Math.max(1, minPartEvents)), blocks.length);
  if (n <= 1) return whole;
  const result: TrailPart[] = [];
  let from = 0;
  let counted = 0;
  for (const [i, b] of blocks.entries()) {
    counted += b.count;
    if (result.length < n - 1 && counted >= (sealed * (result.length + 1)) / n && i + 1 < blocks.length) {
      result.push({ blocks: blocks.slice(from, i + 1), before: blocks[from - 1], last: false });
      from = i + 1;
    }
  }
  result.push({ blocks: blocks.slice(from), before: blocks[from - 1], last: true });
  return result;
}

/**
 * What verifying the whole trail in one go reports, from the reports of its parts in order, all
 * of which hold. (When one does not, the caller verifies the whole trail in one go instead: where a
 * part starts changes nothing in a trail that holds, but could change which problem is named first
 * in one that does not.)
 */
export function joinReports(reports: readonly TrailReport[]): TrailReport {
  const last = reports.at(-1)!;
  const sum = (key: 'checked' | 'blocks' | 'unsigned') => reports.reduce((total, r) => total + r[key], 0);
  return { ...last, checked: sum('checked'), blocks: sum('blocks'), unsigned: sum('unsigned') };
}

/**
 * The parts' reports in order, verified in `lanes` lanes side by side, each taking the next part
 * when done. A part that could not be verified has no report; once a part does not hold (or has
 * none), no lane takes another, as the trail is then verified in one go.
 */
export async function verifyInLanes(
  parts: readonly TrailPart[],
  lanes: number,
  verify: (part: TrailPart) => Promise<TrailReport>,
): Promise<(TrailReport | undefined)[]> {
  const reports: (TrailReport | undefined)[] = parts.map(() => undefined);
  let next = 0;
  const lane = async () => {
    while (next < parts.length) {
      const i = next++;
      reports[i] = await verify(parts[i]!).catch(() => undefined);
      if (reports[i]?.ok !== true) next = parts.length;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return reports;
}

/**
 * Verifies one part on `client`, in a transaction already begun in the snapshot and with
 * EVENT_COPY_SESSION's settings. `consumed` is false when the verification stopped before the end
 * of the COPY: the connection is then mid-COPY and must be dropped.
 */
export async function verifyPart(client: pg.ClientBase, part: TrailPart, publicKey: KeyObject | undefined): Promise<{ report: TrailReport; consumed: boolean }> {
  // The ids come from bigint columns; written into the statement (COPY takes no parameters) as numbers.
  const after = part.before === undefined ? undefined : BigInt(part.before.lastEventId).toString();
  const through = part.last ? undefined : BigInt(part.blocks.at(-1)!.lastEventId).toString();
  let lastEvent: TrailEvent | undefined;
  if (after !== undefined) {
    // The event before the part: the last one of the block before, verified with that block's part.
    // Absent (only from a trail whose part before does not hold), the part starts from a stand-in.
    const { rows } = await client.query<{ hash: string; prev_hash: string | null }>(`select hash, prev_hash from audit_events where id = ${after}`);
    lastEvent = { id: after, hash: rows[0]?.hash ?? '', prevHash: rows[0]?.prev_hash ?? null };
  }
  const where = [after === undefined ? undefined : `id > ${after}`, through === undefined ? undefined : `id <= ${through}`].filter((w) => w !== undefined);
  const stream = client.query(
    copyTo(`copy (select ${EVENT_COPY_COLUMNS} from audit_events ${where.length === 0 ? '' : `where ${where.join(' and ')}`} order by id) to stdout`, {
      highWaterMark: 1 << 20,
    }),
  );
  let consumed = false;
  const report = await verifyTrail(
    copied(stream, () => (consumed = true)),
    listed(part.blocks),
    publicKey,
    part.before === undefined ? { contentOf } : { contentOf, after: { previous: part.before, lastEvent: lastEvent! } },
  );
  return { report, consumed };
}

const contentOf = (e: CopiedEvent) => e.canonical;

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
