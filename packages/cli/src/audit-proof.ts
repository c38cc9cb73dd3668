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
 *
 * Written with loops and string concatenation rather than entries, filter, sort with a callback,
 * map and join (a verification canonicalises every event's details): the output is the same for
 * every input, which test/audit/canonical-json.test.ts holds against that first version.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  // As JSON.stringify (and so jsonb) sees it: toJSON first (Dates become ISO strings).
  const json =
    value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  if (json === null || typeof json !== 'object') return JSON.stringify(json) ?? 'null';
  if (Array.isArray(json)) {
    let out = '[';
    for (let i = 0, length = json.length; i < length; i++) {
      if (i > 0) out += ',';
      // A hole stays empty, as map and join leave it.
      if (i in json) out += canonicalJson(json[i]);
    }
    return `${out}]`;
  }
  const object = json as Record<string, unknown>;
  // Object.keys: the own enumerable string keys, as Object.entries gives them. The default sort
  // compares strings by UTF-16 code units, as the `<` comparison does.
  const keys = Object.keys(object);
  if (!sortedKeys(keys)) keys.sort();
  let out = '{';
  for (const key of keys) {
    const v = object[key];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

const sortedKeys = (keys: readonly string[]) => {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
};

const sha256 = (...parts: (string | Buffer)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/**
 * canonicalJson of the hashed fields, written out in their sorted order (what canonicalJson gives
 * for them, without sorting the same eight keys again for every event a verification reads).
 */
export function canonicalEvent(e: HashedFields): string {
  const str = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));
  return (
    `{"action":${str(e.action)},"actor":${canonicalJson(e.actor)},"details":${canonicalJson(e.details)},"id":${str(e.id)},` +
    `"occurredAt":${str(e.occurredAt)},"profileId":${str(e.profileId)},"requestId":${str(e.requestId)},"sourceIp":${str(e.sourceIp)}}`
  );
}

/** An event's own hash (SPEC §11): sha256 of its canonical JSON, hex. */
export function eventHash(event: HashedFields): string {
  return contentHash(canonicalEvent(event));
}

/** The milestone-1 chain hash of events written before §11: sha256(prevHash ‖ canonical JSON), hex. */
export function chainHash(prevHash: string, event: HashedFields): string {
  return contentHash(prevHash + canonicalEvent(event));
}

// The one-shot hash: a verification computes one per event, and it costs a third of createHash's.
const contentHash = (text: string) => oneShotHash('sha256', text, 'hex');

/**
 * The Merkle tree hash of RFC 6962 §2.1: leaves hashed as sha256(0x00 ‖ leaf), nodes as
 * sha256(0x01 ‖ left ‖ right), the empty tree as sha256(""). Pairing level by level and carrying
 * an odd last node up unchanged builds exactly the RFC's tree (left subtree the largest power of 2).
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256('');
  const leaf = Buffer.allocUnsafe(33);
  leaf[0] = 0;
  return Buffer.from(
    treeHash(
      leaves.map((bytes) => {
        if (bytes.length !== 32) return binaryHash(Buffer.concat([LEAF, bytes]));
        bytes.copy(leaf, 1);
        return binaryHash(leaf);
      }),
    ),
    'latin1',
  );
}
const LEAF = Buffer.from([0]);

/**
 * sha256 as a 32-character latin1 string: a Merkle tree computes one per leaf and node, and
 * node:crypto gives a string back for a third of what a Buffer costs it.
 */
const binaryHash = (input: Buffer) => oneShotHash('sha256', input, 'binary');

/** The nodes above leaf hashes (latin1 strings), level by level; the root, as a latin1 string. */
function treeHash(level: string[]): string {
  const node = Buffer.allocUnsafe(65);
  node[0] = 1;
  while (level.length > 1) {
    const next: string[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      node.write(level[i]!, 1, 'latin1');
      node.write(level[i + 1]!, 33, 'latin1');
      next.push(binaryHash(node));
    }
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    level = next;
  }
  return level[0]!;
}

/** A block's root: the Merkle root over its events' hashes, each as its 32 raw bytes. */
export function blockRoot(eventHashes: readonly string[]): string {
  if (eventHashes.length === 0) return merkleRoot([]).toString('hex');
  const leaf = Buffer.allocUnsafe(33);
  leaf[0] = 0;
  const leaves: string[] = [];
  for (const hash of eventHashes) {
    // What Buffer.from(hash, 'hex') decodes: up to the first character that is not hex. A hash
    // that does not decode to 32 bytes (only a tampered one) goes the general way.
    if (hash.length !== 64 || leaf.write(hash, 1, 'hex') !== 32) return merkleRoot(eventHashes.map((h) => Buffer.from(h, 'hex'))).toString('hex');
    leaves.push(binaryHash(leaf));
  }
  return Buffer.from(treeHash(leaves), 'latin1').toString('hex');
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

/** What verifyTrail needs of an event besides its content. */
export interface TrailEvent {
  id: string;
  prevHash: string | null;
  hash: string;
}

/**
 * Where the verification of a part of a trail starts (the parts after the first): the block
 * before it, and the last event before it, which is that block's last event.
 */
export interface TrailStart {
  previous: ProofBlock;
  lastEvent: TrailEvent;
}

/**
 * Verifies a trail, events in id order and blocks in seq order:
 * - every event's hash from its content (chain events: also their link to the event before);
 * - every block: seq following the one before, prevBlockHash the hash of the block before (for
 *   the first block, the hash of the last event before it: the head of the milestone-1 chain,
 *   or genesis), count, first and last ids and Merkle root of exactly the events between its ids,
 *   its hash, and its signature under `publicKey` (an unsigned block only before any signed one);
 * - no event between two blocks, and none before the first block but chain events.
 * Stops at the first thing that does not hold.
 *
 * `contentOf` gives an event's canonical JSON when the caller has it without building the event
 * (it must be what canonicalEvent gives for its fields). With `after`, the trail is the part that
 * follows `after.previous`: what it reports, added to the reports of the parts before it, is
 * what verifying the whole trail in one go would report (the first broken part's, with the
 * counts of the parts before it added).
 */
export async function verifyTrail(
  eventBatches: AsyncIterable<readonly ProofEvent[]>,
  blockSource: AsyncIterator<ProofBlock>,
  publicKey: KeyObject | undefined,
  options?: { after?: TrailStart },
): Promise<TrailReport>;
export async function verifyTrail<E extends TrailEvent>(
  eventBatches: AsyncIterable<readonly E[]>,
  blockSource: AsyncIterator<ProofBlock>,
  publicKey: KeyObject | undefined,
  options: { contentOf: (event: E) => string; after?: TrailStart },
): Promise<TrailReport>;
export async function verifyTrail(
  eventBatches: AsyncIterable<readonly TrailEvent[]>,
  blockSource: AsyncIterator<ProofBlock>,
  publicKey: KeyObject | undefined,
  options: { contentOf?: (event: TrailEvent) => string; after?: TrailStart } = {},
): Promise<TrailReport> {
  const contentOf = options.contentOf ?? (canonicalEvent as unknown as (event: TrailEvent) => string);
  const nextBlock = async () => {
    const next = await blockSource.next();
    return next.done === true ? undefined : next.value;
  };
  let block = await nextBlock();
  // A block's bounds as numbers, parsed once per block rather than once per event (and, as before,
  // only when an event is compared with them).
  let firstOf: ProofBlock | undefined;
  let first = 0n;
  let lastOf: ProofBlock | undefined;
  let last = 0n;
  const firstIdOf = (b: ProofBlock) => (b === firstOf ? first : ((first = BigInt(b.firstEventId)), (firstOf = b), first));
  const lastIdOf = (b: ProofBlock) => (b === lastOf ? last : ((last = BigInt(b.lastEventId)), (lastOf = b), last));
  let previous: ProofBlock | undefined = options.after?.previous;
  let leaves: string[] = [];
  let firstLeafId: string | undefined;
  let lastLeafId: string | undefined;
  // The hash of the last event before the first block: what the first block links to.
  let anchor = GENESIS_HASH;
  let lastHash = options.after?.lastEvent.hash ?? GENESIS_HASH;
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
    if (publicKey === undefined) unsigned += 1;
    else if (b.signature === null) {
      // Blocks are unsigned before a signing key is set, never after a signed one but when the
      // key is taken away, which must not pass unseen: nor must a signature stripped by a forger.
      if (previous !== undefined && previous.signature !== null) return 'unsigned after a signed block (its signature removed, or the signing key taken away)';
      unsigned += 1;
    } else if (!signatureHolds(b.hash, b.signature, publicKey)) return 'signature does not verify under the public key';
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

  let lastId = options.after === undefined ? undefined : BigInt(options.after.lastEvent.id);
  for await (const batch of eventBatches) {
    for (const event of batch) {
      const id = BigInt(event.id);
      if (lastId !== undefined && id <= lastId) return report({ id: event.id, problem: `event ${event.id}: out of id order` });
      lastId = id;
      while (block !== undefined && id > lastIdOf(block)) {
        const b = block;
        const problem = await finish();
        if (problem !== undefined) return report({ id: b.firstEventId, block: b.seq, problem: `block ${b.seq}: ${problem}` });
      }
      checked += 1;
      const holds =
        event.prevHash === null
          ? contentHash(contentOf(event)) === event.hash
          : event.prevHash === lastHash && contentHash(event.prevHash + contentOf(event)) === event.hash;
      if (!holds) return report({ id: event.id, problem: `event ${event.id}: hash does not match its content or the event before` });
      if (block !== undefined && id >= firstIdOf(block)) {
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
