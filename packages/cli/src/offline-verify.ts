import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { signatureHolds, verifyTrail, type ProofBlock, type ProofEvent, type TrailReport } from './audit-proof.js';
import { CliError, EXIT } from './errors.js';

/** Files of the checkpoint directory that are read (see readCheckpoints). */
const CHECKPOINT_FILE = /\.(ndjson|jsonl|json)$/;
const BATCH = 5_000;

/**
 * Verifies an NDJSON export (GET /v1/audit/export?format=ndjson) against the checkpoint files
 * and the public key alone: every event's hash, and every checkpoint up to the export's last
 * event (root, chain, signature).
 *
 * A checkpoint that seals events past the export's end is a trail cut short (events deleted after
 * they were sealed, the block deleted with them: nothing else shows it), unless the export was
 * taken before that checkpoint was sealed: checkpoints sealed after `exportedAt` (by default the
 * time the export file was last written) are left unchecked (`beyondExport`), and the export's
 * events they seal count as unsealed. No checkpoint at all is an error, not an unsealed trail:
 * a wrong directory must not pass.
 */
export async function verifyExport(
  input: { exportFile: string; checkpointDir: string; publicKeyFile: string; exportedAt?: Date },
  warn: (line: string) => void,
): Promise<{ report: TrailReport; beyondExport: number }> {
  const publicKey = await readPublicKey(input.publicKeyFile);
  const blocks = await readCheckpoints(input.checkpointDir, path.resolve(input.exportFile), warn);
  const lastId = await lastEventId(input.exportFile);
  if (blocks.length === 0 && lastId !== undefined) {
    throw new CliError(`no checkpoint in ${input.checkpointDir}: nothing to check the export against (the NDJSON files of BREVET_AUDIT_CHECKPOINT_DIR, or blocks as GET /v1/audit/checkpoints lists them)`, EXIT.error);
  }
  // Without --exported-at, the export is taken to have been written when its file was.
  const exportedAt = input.exportedAt ?? (await stat(input.exportFile)).mtime;
  const held = (b: ProofBlock) => lastId !== undefined && BigInt(b.lastEventId) <= lastId;
  const checkable = blocks.filter(held);
  const beyond = blocks.filter((b) => !held(b));
  const report = await verifyTrail(events(input.exportFile), (async function* () {
    yield* checkable;
  })(), publicKey);
  const cutShort = beyond.find((b) => !(Date.parse(b.sealedAt) > exportedAt.getTime()));
  if (!report.ok || cutShort === undefined) return { report, beyondExport: beyond.length };
  const problem = !signatureHolds(cutShort.hash, cutShort.signature ?? '', publicKey)
    ? 'signature does not verify under the public key'
    : `sealed at ${cutShort.sealedAt}, it seals events ${cutShort.firstEventId}–${cutShort.lastEventId}, which the export does not hold ` +
      `(its last event is ${lastId ?? 'none'}): events deleted after they were sealed, or an export taken before this block was sealed ` +
      `(then give --exported-at with the time it was taken; without it, the export file's time is taken: ${exportedAt.toISOString()})`;
  return {
    report: { ...report, ok: false, firstBrokenId: cutShort.firstEventId, firstBrokenBlock: cutShort.seq, problem: `block ${cutShort.seq}: ${problem}` },
    beyondExport: beyond.length,
  };
}

/** A PEM public key, or the JSON GET /v1/audit/public-key answers. */
async function readPublicKey(file: string): Promise<KeyObject> {
  const content = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`cannot read the public key ${file}`, EXIT.usage);
  });
  try {
    const pem = content.trimStart().startsWith('{') ? (JSON.parse(content) as { publicKey: string }).publicKey : content;
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not Ed25519');
    return key;
  } catch {
    throw new CliError(`${file} is not an Ed25519 public key (PEM, or the JSON of GET /v1/audit/public-key)`, EXIT.usage);
  }
}

/**
 * Every block of the checkpoint directory, by seq; the same block written twice counts once, two
 * different ones with one seq are an error. Its `.ndjson`, `.jsonl` and `.json` files are read
 * (the export file itself skipped): NDJSON lines each one block (Brevet's own files, one per UTC
 * day) or one page of GET /v1/audit/checkpoints (`{items}`), or a JSON file holding either.
 */
async function readCheckpoints(dir: string, exportFile: string, warn: (line: string) => void): Promise<ProofBlock[]> {
  const names = (await readdir(dir).catch(() => {
    throw new CliError(`cannot read the checkpoint directory ${dir}`, EXIT.usage);
  })).filter((name) => CHECKPOINT_FILE.test(name) && path.resolve(dir, name) !== exportFile);
  const bySeq = new Map<number, { block: ProofBlock; line: string; where: string }>();
  const add = (block: ProofBlock, where: string) => {
    const line = JSON.stringify(block);
    const seen = bySeq.get(block.seq);
    if (seen !== undefined && seen.line !== line) throw new CliError(`checkpoint ${block.seq} appears twice, differently (${seen.where}, ${where})`, EXIT.error);
    bySeq.set(block.seq, { block, line, where });
  };
  for (const name of names.sort()) {
    const content = await readFile(path.join(dir, name), 'utf8');
    const whole = parseJson(content);
    if (whole !== undefined) {
      const found = blocksIn(whole);
      if (found === undefined) warn(`${name}: holds no checkpoint, skipped`);
      for (const block of found ?? []) add(block, name);
      continue;
    }
    for (const [index, line] of content.split('\n').entries()) {
      if (line.trim() === '') continue;
      const where = `${name}:${index + 1}`;
      const found = blocksIn(parseJson(line));
      // A line cut short by a crash of the writer (the writer appended the block again after it), or not a block.
      if (found === undefined) warn(`${where}: not a checkpoint (a line cut short?), skipped`);
      for (const block of found ?? []) add(block, where);
    }
  }
  return [...bySeq.values()].map((v) => v.block).sort((a, b) => a.seq - b.seq);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The blocks a parsed line or file holds: a block, a page `{items: [...]}` or an array of blocks; undefined when none. */
function blocksIn(value: unknown): ProofBlock[] | undefined {
  const isBlock = (v: unknown): v is ProofBlock => typeof v === 'object' && v !== null && Number.isInteger((v as { seq?: unknown }).seq) && typeof (v as { root?: unknown }).root === 'string';
  const list = Array.isArray(value) ? value : typeof value === 'object' && value !== null && Array.isArray((value as { items?: unknown }).items) ? (value as { items: unknown[] }).items : [value];
  const blocks = list.filter(isBlock);
  return blocks.length === 0 ? undefined : blocks;
}

/** The id of the export's last line (it is oldest first), read from the end of the file. */
async function lastEventId(file: string): Promise<bigint | undefined> {
  const handle = await open(file, 'r').catch(() => {
    throw new CliError(`cannot read the export ${file}`, EXIT.usage);
  });
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 1024 * 1024);
    const { buffer } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    const last = buffer.toString('utf8').trimEnd().split('\n').at(-1);
    return last === undefined || last === '' ? undefined : BigInt((JSON.parse(last) as ProofEvent).id);
  } finally {
    await handle.close();
  }
}

async function* events(file: string): AsyncGenerator<ProofEvent[]> {
  let batch: ProofEvent[] = [];
  let number = 0;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    number += 1;
    if (line.trim() === '') continue;
    try {
      batch.push(JSON.parse(line) as ProofEvent);
    } catch {
      throw new CliError(`${file}:${number}: not an audit event`, EXIT.error);
    }
    if (batch.length === BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
