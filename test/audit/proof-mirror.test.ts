// The offline verifier of the CLI (packages/cli/src/audit-proof.ts) mirrors the server's proofs
// (src/audit/proof.ts) without importing server code: the two files are the same bytes, and
// both compute the same hashes, roots and verdicts on the same input.
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as cli from '../../packages/cli/src/audit-proof.js';
import * as server from '../../src/audit/proof.js';

const event = (id: number, details: Record<string, unknown> = {}) => {
  const fields = { id: String(id), occurredAt: '2032-01-01T00:00:00.000Z', actor: { id: 'prn_a', kind: 'person' }, action: 'request.created', requestId: 'req_1', profileId: null, sourceIp: '10.0.0.1', details: { n: id, ...details } };
  return { ...fields, prevHash: null, hash: server.eventHash(fields) };
};

describe('the CLI mirror of the audit proofs', () => {
  it('is the same file as the server’s', () => {
    const read = (relative: string) => readFileSync(new URL(relative, import.meta.url), 'utf8');
    expect(read('../../packages/cli/src/audit-proof.ts')).toBe(read('../../src/audit/proof.ts'));
  });

  it('computes the same hashes, roots and verdicts', async () => {
    const events = Array.from({ length: 11 }, (_, i) => event(i + 1, { nested: { b: [1, { z: null, a: 'é' }] } }));
    for (const e of events) expect(cli.eventHash(e)).toBe(e.hash);
    expect(cli.blockRoot(events.map((e) => e.hash))).toBe(server.blockRoot(events.map((e) => e.hash)));
    expect(cli.chainHash(server.GENESIS_HASH, events[0]!)).toBe(server.chainHash(server.GENESIS_HASH, events[0]!));

    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const fields = { seq: 1, firstEventId: '1', lastEventId: '11', count: 11, root: server.blockRoot(events.map((e) => e.hash)), prevBlockHash: server.GENESIS_HASH, sealedAt: '2032-01-01T00:00:01.000Z' };
    const hash = server.blockHash(fields);
    expect(cli.blockHash(fields)).toBe(hash);
    const block = { ...fields, hash, signature: sign(null, Buffer.from(hash, 'hex'), privateKey).toString('base64') };
    const run = (verifyTrail: typeof server.verifyTrail, list: typeof events) =>
      verifyTrail(
        (async function* () {
          yield list;
        })(),
        (async function* () {
          yield block;
        })(),
        publicKey,
      );
    expect(await run(cli.verifyTrail, events)).toEqual(await run(server.verifyTrail, events));
    expect(await run(cli.verifyTrail, events)).toMatchObject({ ok: true, blocks: 1, checked: 11 });
    const tampered = events.map((e, i) => (i === 4 ? { ...e, action: 'request.approved' } : e));
    expect(await run(cli.verifyTrail, tampered)).toEqual(await run(server.verifyTrail, tampered));
    expect(await run(cli.verifyTrail, tampered)).toMatchObject({ ok: false, firstBrokenId: '5' });
  });
});
