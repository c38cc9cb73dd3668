// SPEC §12 escalation: when each tier is announced. Who may review is request-access.ts's
// question (and its table of cases); this is only the timing of the notices.
import { describe, expect, it } from 'vitest';
import { nextEscalationAt, tiersDue } from './escalation.js';

const CREATED = new Date('2026-03-02T12:00:00Z');
const at = (seconds: number) => new Date(CREATED.getTime() + seconds * 1000);
const TIERS = [
  { afterSeconds: 900, approverGroups: ['leads'] },
  { afterSeconds: 3600, approverGroups: ['cto'] },
];
const TTL = at(86_400);

describe('nextEscalationAt', () => {
  it('is each tier in turn, then none', () => {
    expect(nextEscalationAt(TIERS, 0, CREATED, TTL)).toEqual(at(900));
    expect(nextEscalationAt(TIERS, 1, CREATED, TTL)).toEqual(at(3600));
    expect(nextEscalationAt(TIERS, 2, CREATED, TTL)).toBeNull();
    expect(nextEscalationAt([], 0, CREATED, TTL)).toBeNull();
  });

  it('is none when the request stops waiting first (a scheduled request whose window comes sooner)', () => {
    expect(nextEscalationAt(TIERS, 0, CREATED, at(900))).toBeNull();
    expect(nextEscalationAt(TIERS, 1, CREATED, at(1800))).toBeNull();
  });
});

describe('tiersDue', () => {
  it('none before the first moment, the first at it', () => {
    expect(tiersDue(TIERS, 0, CREATED, at(899))).toEqual([]);
    expect(tiersDue(TIERS, 0, CREATED, at(900))).toEqual([{ tier: 1, afterSeconds: 900, approverGroups: ['leads'] }]);
  });

  it('a late run announces every tier passed, in order; announced ones are not repeated', () => {
    expect(tiersDue(TIERS, 0, CREATED, at(4000)).map((t) => t.tier)).toEqual([1, 2]);
    expect(tiersDue(TIERS, 1, CREATED, at(4000)).map((t) => t.tier)).toEqual([2]);
    expect(tiersDue(TIERS, 2, CREATED, at(4000))).toEqual([]);
  });
});
