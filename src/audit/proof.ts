// The audit trail's proofs (SPEC §6, §11): canonical JSON, event hashes, RFC 6962 Merkle roots,
// block hashes and signatures, and the verification of a whole trail against its blocks.
//
// Pure apart from node:crypto, and mirrored byte for byte in packages/cli/src/audit-proof.ts so
// the offline `brevet audit verify` computes exactly what the server does without importing
// server code (test/audit/proof-mirror.test.ts holds the two copies equal).
import { createHash, hash as oneShotHash, verify as verifySignature, type KeyObject } from 'node:crypto';

/** The fields an event's hash covers, in their public (API and export) form. */
export interface HashedFields {
  id: string;
  occurredAt: string;
  actor: { id: string; kind: string };
  action: string;
  requestId: string | null;
  profileId: string | null;
  sourceIp: string | null;
  details: unknown;
}

/** An event as the API and the NDJSON export give it. prevHash: only events of the milestone-1 chain. */
export interface ProofEvent extends HashedFields {
  prevHash: string | null;
  hash: string;
}

/** A sealed block (a checkpoint) as stored, listed and written to the checkpoint files. */
export interface ProofBlock {
  seq: number;
  firstEventId: string;
  lastEventId: string;
  count: number;
  root: string;
  prevBlockHash: string;
  sealedAt: string;
  hash: string;
  signature: string | null;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth and no whitespace, so the same event always
 * hashes the same way whatever order its fields were built in or read back from jsonb.
 */
export function canonicalJson(value: unknown): string {
  // As JSON.stringify (and so jsonb) sees it: toJSON first (Dates become ISO strings).
  const json =
    value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  if (json === null || typeof json !== 'object') return JSON.stringify(json) ?? 'null';
  if (Array.isArray(json)) return `[${json.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(json as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const sha256 = (...parts: (string | Buffer)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** sha256(prefix ‖ a ‖ b) of 32-byte hashes in one call: the Merkle tree computes one per leaf and node. */
const prefixedHash = (prefix: number, a: Buffer, b?: Buffer) => {
  const input = Buffer.allocUnsafe(b === undefined ? 33 : 65);
  input[0] = prefix;
  a.copy(input, 1);
  b?.copy(input, 33);
  return oneShotHash('sha256', input, 'buffer');
};

/**
 * canonicalJson of the hashed fields, written out in their sorted order (what canonicalJson gives
 * for them, without sorting the same eight keys again for every event a verification reads).
 */
function canonicalEvent(e: HashedFields): string {
  const str = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));
  return (
    `{"action":${str(e.action)},"actor":${canonicalJson(e.actor)},"details":${canonicalJson(e.details)},"id":${str(e.id)},` +
    `"occurredAt":${str(e.occurredAt)},"profileId":${str(e.profileId)},"requestId":${str(e.requestId)},"sourceIp":${str(e.sourceIp)}}`
  );
}

/** An event's own hash (SPEC §11): sha256 of its canonical JSON, hex. */
export function eventHash(event: HashedFields): string {
  // The one-shot hash: a verification computes one per event, and it costs a third of createHash's.
  return oneShotHash('sha256', canonicalEvent(event), 'hex');
}

/** The milestone-1 chain hash of events written before §11: sha256(prevHash ‖ canonical JSON), hex. */
export function chainHash(prevHash: string, event: HashedFields): string {
  return oneShotHash('sha256', prevHash + canonicalEvent(event), 'hex');
}

/**
 * The Merkle tree hash of RFC 6962 §2.1: leaves hashed as sha256(0x00 ‖ leaf), nodes as
 * sha256(0x01 ‖ left ‖ right), the empty tree as sha256(""). Pairing level by level and carrying
 * an odd last node up unchanged builds exactly the RFC's tree (left subtree the largest power of 2).
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256('');
  let level: Buffer[] = leaves.map((leaf) => (leaf.length === 32 ? prefixedHash(0, leaf) : sha256(LEAF, leaf)));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(prefixedHash(1, level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    level = next;
  }
  return level[0]!;
}
const LEAF = Buffer.from([0]);

/** A block's root: the Merkle root over its events' hashes, each as its 32 raw bytes. */
export function blockRoot(eventHashes: readonly string[]): string {
  return merkleRoot(eventHashes.map((hash) => Buffer.from(hash, 'hex'))).toString('hex');
}

/** A block's hash: sha256 over the canonical JSON of its fields but hash and signature, hex. */
export function blockHash(block: Omit<ProofBlock, 'hash' | 'signature'>): string {
  const { seq, firstEventId, lastEventId, count, root, prevBlockHash, sealedAt } = block;
  return sha256(canonicalJson({ seq, firstEventId, lastEventId, count, root, prevBlockHash, sealedAt })).toString('hex');
}

/** Ed25519 over the 32 raw bytes of the block hash. */
export function signatureHolds(hash: string, signature: string, publicKey: KeyObject): boolean {
  return verifySignature(null, Buffer.from(hash, 'hex'), publicKey, Buffer.from(signature, 'base64'));
}

export interface TrailReport {
  ok: boolean;
  /** Events whose hash was recomputed (up to and including the first broken one). */
  checked: number;
  /** The first event that does not hold; for a broken block, the first event id it claims. */
  firstBrokenId: string | null;
  /** The seq of the first block that does not hold. */
  firstBrokenBlock: number | null;
  /** Why, in a few words, when not ok. */
  problem: string | null;
  /** The last event id of the last block. */
  sealedThrough: string | null;
  blocks: number;
  /** Events past the last block: not yet sealed, which does not make `ok` false. */
  unsealed: number;
  /** Blocks without a signature, or whose signature could not be checked (no public key). */
  unsigned: number;
}

/**
 * Verifies a trail, events in id order and blocks in seq order:
 * - every event's hash from its content (chain events: also their link to the event before);
 * - every block: seq following the one before, prevBlockHash the hash of the block before (for
 *   the first block, the hash of the last event before it: the head of the milestone-1 chain,
 *   or genesis), count, first and last ids and Merkle root of exactly the events between its ids,
 *   its hash, and its signature under `publicKey`;
 * - no event between two blocks, and none before the first block but chain events.
 * Stops at the first thing that does not hold.
 */
export async function verifyTrail(
  eventBatches: AsyncIterable<readonly ProofEvent[]>,
  blockSource: AsyncIterator<ProofBlock>,
  publicKey: KeyObject | undefined,
): Promise<TrailReport> {
  const nextBlock = async () => {
    const next = await blockSource.next();
    return next.done === true ? undefined : next.value;
  };
  let block = await nextBlock();
  let previous: ProofBlock | undefined;
  let leaves: string[] = [];
  let firstLeafId: string | undefined;
  let lastLeafId: string | undefined;
  // The hash of the last event before the first block: what the first block links to.
  let anchor = GENESIS_HASH;
  let lastHash = GENESIS_HASH;
  let checked = 0;
  let blocks = 0;
  let unsealed = 0;
  let unsigned = 0;

  const report = (broken: { id: string; block?: number; problem: string } | undefined): TrailReport => ({
    ok: broken === undefined,
    checked,
    firstBrokenId: broken?.id ?? null,
    firstBrokenBlock: broken?.block ?? null,
    problem: broken?.problem ?? null,
    sealedThrough: previous?.lastEventId ?? null,
    blocks,
    unsealed,
    unsigned,
  });

  /** Checks the current block against the events gathered for it; a problem, or undefined. */
  const closeBlock = (b: ProofBlock): string | undefined => {
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (b.seq !== expectedSeq) return `block ${expectedSeq} is missing (found ${b.seq})`;
    if (b.prevBlockHash !== (previous?.hash ?? anchor)) return 'prevBlockHash does not match the block before';
    if (previous !== undefined && BigInt(b.firstEventId) <= BigInt(previous.lastEventId)) return 'overlaps the block before';
    if (leaves.length !== b.count) return `holds ${leaves.length} events, sealed ${b.count}`;
    if (firstLeafId !== b.firstEventId || lastLeafId !== b.lastEventId) return 'its first or last event is not the one sealed';
    if (blockRoot(leaves) !== b.root) return 'Merkle root does not match its events';
    if (blockHash(b) !== b.hash) return 'hash does not match its fields';
    if (b.signature === null || publicKey === undefined) unsigned += 1;
    else if (!signatureHolds(b.hash, b.signature, publicKey)) return 'signature does not verify under the public key';
    return undefined;
  };
  const finish = async (): Promise<string | undefined> => {
    const problem = closeBlock(block!);
    if (problem !== undefined) return problem;
    blocks += 1;
    previous = block;
    leaves = [];
    firstLeafId = undefined;
    lastLeafId = undefined;
    block = await nextBlock();
    return undefined;
  };

  let lastId: bigint | undefined;
  for await (const batch of eventBatches) {
    for (const event of batch) {
      const id = BigInt(event.id);
      if (lastId !== undefined && id <= lastId) return report({ id: event.id, problem: `event ${event.id}: out of id order` });
      lastId = id;
      while (block !== undefined && id > BigInt(block.lastEventId)) {
        const b = block;
        const problem = await finish();
        if (problem !== undefined) return report({ id: b.firstEventId, block: b.seq, problem: `block ${b.seq}: ${problem}` });
      }
      checked += 1;
      const holds =
        event.prevHash === null
          ? eventHash(event) === event.hash
          : event.prevHash === lastHash && chainHash(event.prevHash, event) === event.hash;
      if (!holds) return report({ id: event.id, problem: `event ${event.id}: hash does not match its content or the event before` });
      if (block !== undefined && id >= BigInt(block.firstEventId)) {
        if (leaves.length === 0) {
          firstLeafId = event.id;
          if (previous === undefined) anchor = lastHash;
        }
        lastLeafId = event.id;
        leaves.push(event.hash);
      } else if (block === undefined) {
        unsealed += 1;
      } else if (block.seq !== (previous?.seq ?? 0) + 1) {
        // Events where a missing block would be: the gap in the blocks is what does not hold.
        return report({ id: event.id, block: block.seq, problem: `block ${(previous?.seq ?? 0) + 1} is missing (found ${block.seq})` });
      } else if (previous !== undefined || event.prevHash === null) {
        return report({ id: event.id, problem: `event ${event.id}: in no block` });
      }
      lastHash = event.hash;
    }
  }
  while (block !== undefined) {
    const b = block;
    if (leaves.length === 0 && previous === undefined) anchor = lastHash;
    const problem = await finish();
    if (problem !== undefined) return report({ id: b.firstEventId, block: b.seq, problem: `block ${b.seq}: ${problem}` });
  }
  return report(undefined);
}
