// The proofs were rewritten for speed (a verification canonicalises and hashes every event):
// canonicalJson with loops instead of entries/filter/sort/map/join, the Merkle tree on latin1
// strings instead of Buffers. Every event ever hashed must hash the same, so each is held here
// against its first version, kept verbatim below, on arbitrary input.
import { createHash, hash as oneShotHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockRoot, canonicalJson, merkleRoot } from './proof.js';

/** canonicalJson as first written (before the loops). */
function referenceCanonicalJson(value: unknown): string {
  const json =
    value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  if (json === null || typeof json !== 'object') return JSON.stringify(json) ?? 'null';
  if (Array.isArray(json)) return `[${json.map(referenceCanonicalJson).join(',')}]`;
  const entries = Object.entries(json as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${referenceCanonicalJson(v)}`).join(',')}}`;
}

/** merkleRoot as first written (Buffers, one createHash or one-shot hash per leaf and node). */
function referenceMerkleRoot(leaves: readonly Buffer[]): Buffer {
  const sha256 = (...parts: (string | Buffer)[]) => {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
  const prefixedHash = (prefix: number, a: Buffer, b?: Buffer) => {
    const input = Buffer.allocUnsafe(b === undefined ? 33 : 65);
    input[0] = prefix;
    a.copy(input, 1);
    b?.copy(input, 33);
    return oneShotHash('sha256', input, 'buffer');
  };
  if (leaves.length === 0) return sha256('');
  let level: Buffer[] = leaves.map((leaf) => (leaf.length === 32 ? prefixedHash(0, leaf) : sha256(Buffer.from([0]), leaf)));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(prefixedHash(1, level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level.at(-1)!);
    level = next;
  }
  return level[0]!;
}
const referenceBlockRoot = (hashes: readonly string[]) => referenceMerkleRoot(hashes.map((h) => Buffer.from(h, 'hex'))).toString('hex');

/** Strings of any UTF-16 code units (NUL, lone surrogates) and of the characters that are easy to get wrong. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u202e', '\u2066', '\u2028', '\u2029', '"', '\\', '\t', '\n', '\u007f', 'é', 'a', '0', '_', 'B', '~') }),
);

const keyed = fc.oneof(nasty, fc.constantFrom('__proto__', 'constructor', 'toJSON', '10', '9', '-1', '01', '1.5', ''));

/** Values of any shape canonicalJson may meet: JSON ones, numbers of every kind, and what JSON.stringify treats specially. */
const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    nasty,
    fc.double(),
    fc.integer(),
    fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1e21, 1e-7, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, 0.1 + 0.2),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constant(() => 1),
    fc.constant(Symbol('s')),
    fc.date({ noInvalidDate: true }),
    fc.constant(new Date(Number.NaN)),
    nasty.map((s) => ({ toJSON: () => s })),
    fc.constant({ toJSON: () => ({ b: 1, a: [2, undefined] }) }),
  ),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object'), tie('sparse')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  sparse: fc.sparseArray(tie('node'), { maxLength: 6 }),
  object: fc.dictionary(keyed, tie('node'), { maxKeys: 6, noNullPrototype: false }),
})).node;

describe('canonicalJson', () => {
  it('writes every value as its first version did', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJson(v)).toBe(referenceCanonicalJson(v));
      }),
      { numRuns: 5_000 },
    );
  });

  it('writes every JSON value as its first version did, through a JSON round trip too', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(referenceCanonicalJson(v));
        const back = JSON.parse(JSON.stringify(v)) as unknown;
        expect(canonicalJson(back)).toBe(referenceCanonicalJson(back));
      }),
      { numRuns: 5_000 },
    );
  });

  it('handles deep nesting as its first version did', () => {
    let deep: unknown = { z: 'end', a: [1, '\u0000'] };
    for (let i = 0; i < 2_000; i++) deep = i % 2 === 0 ? { [`k${i % 7}`]: deep, a: i } : [deep, null];
    expect(canonicalJson(deep)).toBe(referenceCanonicalJson(deep));
  });

  it('throws where its first version threw (a BigInt, as JSON.stringify does)', () => {
    expect(() => referenceCanonicalJson({ a: 1n })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
  });
});

describe('the Merkle root', () => {
  const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));
  /** Hashes as a tampered database could hold them: too short, too long, not hex, upper case. */
  const odd = fc.oneof(
    hex.map((h) => h.toUpperCase()),
    hex.map((h) => `${h.slice(0, 40)}zz${h.slice(42)}`),
    hex.map((h) => h.slice(0, 63)),
    hex.map((h) => `${h}a`),
    hex.map((h) => `${h}ab`),
    fc.string(),
  );

  it('is the same as its first version for any number of leaves', () => {
    fc.assert(
      fc.property(fc.array(hex, { maxLength: 70 }), (hashes) => {
        expect(blockRoot(hashes)).toBe(referenceBlockRoot(hashes));
      }),
      { numRuns: 500 },
    );
  });

  it('is the same as its first version when some hashes are not 64 hex digits', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(hex, odd), { minLength: 1, maxLength: 20 }), (hashes) => {
        expect(blockRoot(hashes)).toBe(referenceBlockRoot(hashes));
      }),
      { numRuns: 500 },
    );
  });

  it('over raw leaves of any length, as its first version', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), (leaves) => {
        const buffers = leaves.map((l) => Buffer.from(l));
        expect(merkleRoot(buffers).equals(referenceMerkleRoot(buffers))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('over a full block of 5,000 events', () => {
    const hashes = Array.from({ length: 5_000 }, () => randomBytes(32).toString('hex'));
    expect(blockRoot(hashes)).toBe(referenceBlockRoot(hashes));
  });
});
