// SPEC §6 and §3 rule 6: an audit event hashes the same way however it was built or read back,
// and any change to any field changes its hash.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, blockHash, blockRoot, canonicalJson, chainHash, eventHash, merkleRoot, type HashedFields } from './proof.js';

const EVENT: HashedFields = {
  id: '42',
  occurredAt: '2026-01-05T08:00:00.000Z',
  actor: { id: 'prn_alice', kind: 'person' },
  action: 'request.created',
  requestId: 'req_1',
  profileId: 'prf_1',
  sourceIp: '10.1.2.3',
  details: { scope: null, justification: 'INC-42 hotfix café', durationSeconds: 1800, nested: { b: true, a: [3, { d: 1, c: 'x' }] } },
};

/** EVENT in canonical form, written out by hand: keys sorted at every depth, no whitespace. */
const EVENT_CANONICAL =
  '{"action":"request.created","actor":{"id":"prn_alice","kind":"person"},' +
  '"details":{"durationSeconds":1800,"justification":"INC-42 hotfix café","nested":{"a":[3,{"c":"x","d":1}],"b":true},"scope":null},' +
  '"id":"42","occurredAt":"2026-01-05T08:00:00.000Z","profileId":"prf_1","requestId":"req_1","sourceIp":"10.1.2.3"}';

/** Rebuilds a value with every object's keys inserted in reverse order. */
function reversed(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(reversed);
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
}

describe('canonicalJson', () => {
  it('writes the known event exactly as by hand', () => {
    expect(canonicalJson(EVENT)).toBe(EVENT_CANONICAL);
  });

  it.each<[string, unknown, string]>([
    ['keys sorted at every depth', { b: 1, a: { d: 1, c: [{ f: 1, e: 2 }] } }, '{"a":{"c":[{"e":2,"f":1}],"d":1},"b":1}'],
    ['arrays keep their order', [3, 1, 2], '[3,1,2]'],
    ['keys sorted by code unit', { b: 1, é: 2, B: 3, _: 4, a: 5, '10': 6, '9': 7 }, '{"10":6,"9":7,"B":3,"_":4,"a":5,"b":1,"é":2}'],
    ['undefined properties left out, as JSON does', { a: undefined, b: 1 }, '{"b":1}'],
    ['undefined in an array is null, as JSON does', [undefined, 1], '[null,1]'],
    ['empty containers', { a: {}, b: [] }, '{"a":{},"b":[]}'],
    ['strings escaped as JSON', { 'k"\n': 'v"\\\u0001' }, '{"k\\"\\n":"v\\"\\\\\\u0001"}'],
    ['null', null, 'null'],
    ['a number', 1.5, '1.5'],
    ['a boolean', false, 'false'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('does not depend on the order keys were inserted in', () => {
    expect(canonicalJson(reversed(EVENT))).toBe(EVENT_CANONICAL);
    const built = { details: { nested: { a: [3, { c: 'x', d: 1 }], b: true } }, id: '1' };
    const rebuilt = { id: '1', details: { nested: { b: true, a: [3, { d: 1, c: 'x' }] } } };
    expect(canonicalJson(built)).toBe(canonicalJson(rebuilt));
  });

  it('is valid JSON that parses back to the same value', () => {
    expect(JSON.parse(canonicalJson(EVENT))).toEqual(EVENT);
  });

  // The writer hashes the event it builds; verification hashes what jsonb gives back. Both must
  // agree for any value the writer accepts, including values JSON serialises through toJSON.
  it.each<[string, Record<string, unknown>]>([
    ['plain data', { a: [1, 'two', null, { x: false }] }],
    ['a Date', { at: new Date('2026-01-05T08:00:00.000Z') }],
    ['an object with toJSON', { amount: { toJSON: () => '12.50' } }],
  ])('hashes %s the same before and after a JSON round trip', (_name, details) => {
    expect(canonicalJson(details)).toBe(canonicalJson(JSON.parse(JSON.stringify(details))));
  });
});

describe('chainHash', () => {
  it('is 64 zeros at genesis', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });

  it('known answer: sha256(prevHash ‖ canonical JSON), hex', () => {
    const expected = createHash('sha256').update(GENESIS_HASH + EVENT_CANONICAL, 'utf8').digest('hex');
    expect(chainHash(GENESIS_HASH, EVENT)).toBe(expected);
    // The same value computed outside Node (sha256sum), so a change in the encoding shows too.
    expect(expected).toBe('8344bc2639c06e9fa65e144b81c7b3a1d27e83ca7c80ecdf168d79f1e4b9889e');
  });

  it('does not depend on the order the event was built in', () => {
    expect(chainHash(GENESIS_HASH, reversed(EVENT) as HashedFields)).toBe(chainHash(GENESIS_HASH, EVENT));
  });

  it('eventHash, known answer: sha256 of the canonical JSON alone, whatever the build order', () => {
    const expected = createHash('sha256').update(EVENT_CANONICAL, 'utf8').digest('hex');
    expect(eventHash(EVENT)).toBe(expected);
    expect(eventHash(reversed(EVENT) as HashedFields)).toBe(expected);
    expect(eventHash({ ...EVENT, requestId: null, sourceIp: null })).toBe(createHash('sha256').update(canonicalJson({ ...EVENT, requestId: null, sourceIp: null })).digest('hex'));
  });

  const changes: [string, Partial<HashedFields>][] = [
    ['id', { id: '43' }],
    ['occurredAt', { occurredAt: '2026-01-05T08:00:00.001Z' }],
    ['actor.id', { actor: { id: 'prn_mallory', kind: 'person' } }],
    ['actor.kind', { actor: { id: 'prn_alice', kind: 'service' } }],
    ['action', { action: 'request.approved' }],
    ['requestId', { requestId: 'req_2' }],
    ['requestId to null', { requestId: null }],
    ['profileId', { profileId: null }],
    ['sourceIp', { sourceIp: '10.1.2.4' }],
    ['sourceIp to null', { sourceIp: null }],
    ['a detail', { details: { ...(EVENT.details as object), durationSeconds: 1801 } }],
    ['a detail type (number to string)', { details: { ...(EVENT.details as object), durationSeconds: '1800' } }],
    ['a deep detail', { details: { ...(EVENT.details as object), nested: { a: [3, { d: 1, c: 'y' }], b: true } } }],
    ['an array order', { details: { ...(EVENT.details as object), nested: { a: [{ d: 1, c: 'x' }, 3], b: true } } }],
    ['a detail added', { details: { ...(EVENT.details as object), extra: null } }],
    ['a detail removed', { details: { durationSeconds: 1800 } }],
    ['details emptied', { details: {} }],
  ];

  it.each(changes)('changes when %s changes', (_name, change) => {
    expect(chainHash(GENESIS_HASH, { ...EVENT, ...change })).not.toBe(chainHash(GENESIS_HASH, EVENT));
  });

  it('changes when prevHash changes', () => {
    expect(chainHash('1'.padStart(64, '0'), EVENT)).not.toBe(chainHash(GENESIS_HASH, EVENT));
  });

  it('gives every variant above a distinct hash', () => {
    const hashes = [EVENT, ...changes.map(([, change]) => ({ ...EVENT, ...change }))].map((e) => chainHash(GENESIS_HASH, e));
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

describe('merkleRoot (RFC 6962 §2.1)', () => {
  // The test vectors of Certificate Transparency's reference implementation: the roots of the
  // first 1..8 of these leaves.
  const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((hex) => Buffer.from(hex, 'hex'));
  const roots = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];

  it('is sha256("") for no leaves', () => {
    expect(merkleRoot([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it.each(roots.map((root, i) => [i + 1, root] as const))('matches the reference root of %i leaves', (n, root) => {
    expect(merkleRoot(leaves.slice(0, n)).toString('hex')).toBe(root);
  });

  it('changes with any leaf and with their order', () => {
    const hashes = Array.from({ length: 7 }, (_, i) => createHash('sha256').update(String(i)).digest('hex'));
    const root = blockRoot(hashes);
    expect(blockRoot([...hashes].reverse())).not.toBe(root);
    expect(blockRoot(hashes.slice(0, 6))).not.toBe(root);
    expect(blockRoot([...hashes.slice(0, 6), 'f'.repeat(64)])).not.toBe(root);
  });
});

describe('blockHash', () => {
  it('is sha256 over the canonical JSON of the fields but hash and signature', () => {
    const fields = { seq: 1, firstEventId: '4', lastEventId: '9', count: 6, root: 'a'.repeat(64), prevBlockHash: GENESIS_HASH, sealedAt: '2026-01-05T08:00:00.000Z' };
    const canonical = `{"count":6,"firstEventId":"4","lastEventId":"9","prevBlockHash":"${GENESIS_HASH}","root":"${'a'.repeat(64)}","sealedAt":"2026-01-05T08:00:00.000Z","seq":1}`;
    expect(blockHash(fields)).toBe(createHash('sha256').update(canonical).digest('hex'));
    expect(blockHash({ ...fields, hash: 'x', signature: 'y' } as never)).toBe(blockHash(fields));
  });
});
