// The lanes of a verification in parts: each takes the next part when done, the reports come back
// in the parts' order, and no lane takes another part once one does not hold.
import { describe, expect, it } from 'vitest';
import type { TrailReport } from './proof.js';
import { verifyInLanes, type TrailPart } from './verify-parts.js';

const part = (seq: number): TrailPart => ({ blocks: [{ seq, firstEventId: String(seq), lastEventId: String(seq), count: 1, root: '', prevBlockHash: '', sealedAt: '', hash: '', signature: null }], before: undefined, last: false });
const report = (ok: boolean, checked: number): TrailReport => ({ ok, checked, firstBrokenId: null, firstBrokenBlock: null, problem: null, sealedThrough: null, blocks: 1, unsealed: 0, unsigned: 0 });
const seqOf = (p: TrailPart) => p.blocks[0]!.seq;

describe('verifyInLanes', () => {
  it('gives the reports in the parts’ order, a lane taking the next part as soon as it is done', async () => {
    const parts = [1, 2, 3, 4, 5].map(part);
    const taken: number[] = [];
    // Part 1 is slow: while its lane waits, the other lane takes every part after it.
    let releaseFirst!: () => void;
    const first = new Promise<void>((resolve) => (releaseFirst = resolve));
    const verify = async (p: TrailPart) => {
      taken.push(seqOf(p));
      if (seqOf(p) === 1) await first;
      if (seqOf(p) === 5) releaseFirst();
      return report(true, seqOf(p));
    };
    const reports = await verifyInLanes(parts, 2, verify);
    expect(reports.map((r) => r?.checked)).toEqual([1, 2, 3, 4, 5]);
    expect(taken).toEqual([1, 2, 3, 4, 5]);
  });

  it.each([
    ['does not hold', async () => report(false, 0), false],
    ['could not be verified', async () => Promise.reject(new Error('no connection')), undefined],
  ])('takes no part after one that %s', async (_, failing: () => Promise<TrailReport>, second: boolean | undefined) => {
    const taken: number[] = [];
    const verify = async (p: TrailPart) => {
      taken.push(seqOf(p));
      return seqOf(p) === 2 ? failing() : report(true, seqOf(p));
    };
    const reports = await verifyInLanes([1, 2, 3, 4].map(part), 1, verify);
    expect(taken).toEqual([1, 2]);
    expect(reports.map((r) => r?.ok)).toEqual([true, second, undefined, undefined]);
  });
});
