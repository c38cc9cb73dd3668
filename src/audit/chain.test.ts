// SPEC §6 and §3 rule 6: an audit event hashes the same way however it was built or read back,
// and any change to any field changes its hash.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalJson, chainHash, type ChainedFields } from './chain.js';

const EVENT: ChainedFields = {
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
    expect(chainHash(GENESIS_HASH, reversed(EVENT) as ChainedFields)).toBe(chainHash(GENESIS_HASH, EVENT));
  });

  const changes: [string, Partial<ChainedFields>][] = [
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
