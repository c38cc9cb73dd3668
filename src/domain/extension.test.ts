// SPEC §12: which grants may be extended, by how much, and where the window end moves to.
import { describe, expect, it } from 'vitest';
import { extendedEnd, extensionPendingExpiry, planExtension, type ExtensibleFacts } from './extension.js';
import { REQUEST_STATUSES } from './lifecycle.js';

const NOW = new Date('2026-03-02T12:00:00Z');
const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000);
/** Active since 30 min, ending in 30 min: a one-hour window. */
const ACTIVE: ExtensibleFacts = { kind: 'access', status: 'active', startsAt: at(-1800), endsAt: at(1800) };
const POLICY = { required: 1, maxTotalSeconds: 3 * 3600 };

describe('planExtension', () => {
  it('adds the seconds after the current end, with no gap', () => {
    expect(planExtension(ACTIVE, POLICY, 3600, NOW)).toEqual({ ok: true, window: { startsAt: at(1800), endsAt: at(5400) }, totalSeconds: 7200 });
  });

  it('accepts a total of exactly maxTotalSeconds, refuses one second more', () => {
    expect(planExtension(ACTIVE, POLICY, 7200, NOW)).toMatchObject({ ok: true, totalSeconds: 10_800 });
    expect(planExtension(ACTIVE, POLICY, 7201, NOW)).toEqual({ ok: false, refusal: { reason: 'too-long', totalSeconds: 10_801, maxTotalSeconds: 10_800 } });
  });

  it('counts earlier extensions in the current window', () => {
    const extendedOnce = { ...ACTIVE, endsAt: at(1800 + 7200) };
    expect(planExtension(extendedOnce, POLICY, 900, NOW)).toMatchObject({ ok: false, refusal: { reason: 'too-long', totalSeconds: 10_800 + 900 } });
  });

  it('a maximum below the profile maximum refuses any extension of a long window', () => {
    expect(planExtension(ACTIVE, { required: 0, maxTotalSeconds: 3600 }, 900, NOW)).toMatchObject({ ok: false, refusal: { reason: 'too-long' } });
  });

  it.each([0, 1, 899, 900.5])('refuses adding %s seconds', (seconds) => {
    expect(planExtension(ACTIVE, POLICY, seconds, NOW)).toEqual({ ok: false, refusal: { reason: 'too-short' } });
  });

  it.each(REQUEST_STATUSES.filter((s) => s !== 'active'))('refuses a %s request', (status) => {
    expect(planExtension({ ...ACTIVE, status }, POLICY, 900, NOW)).toEqual({ ok: false, refusal: { reason: 'not-active' } });
  });

  it('refuses an extension request, and an active one whose end has passed (its end job is late)', () => {
    expect(planExtension({ ...ACTIVE, kind: 'extension' }, POLICY, 900, NOW)).toEqual({ ok: false, refusal: { reason: 'not-active' } });
    expect(planExtension({ ...ACTIVE, endsAt: NOW }, POLICY, 900, NOW)).toEqual({ ok: false, refusal: { reason: 'not-active' } });
  });
});

describe('extendedEnd', () => {
  const parent = { ...ACTIVE, durationSeconds: 3600 };

  it('moves the end later by exactly the seconds asked for, and the duration with it', () => {
    expect(extendedEnd(parent, { startsAt: at(1800), durationSeconds: 1800 }, NOW)).toEqual({ ok: true, endsAt: at(3600), durationSeconds: 5400 });
  });

  it('refuses once the parent is no longer active', () => {
    for (const status of ['ended', 'revoked'] as const) {
      expect(extendedEnd({ ...parent, status }, { startsAt: at(1800), durationSeconds: 1800 }, NOW)).toEqual({ ok: false, reason: 'not-active' });
    }
    expect(extendedEnd({ ...parent, endsAt: at(-1) }, { startsAt: at(-1), durationSeconds: 1800 }, NOW)).toEqual({ ok: false, reason: 'not-active' });
  });

  it('refuses when the end is not where the extension continues from', () => {
    expect(extendedEnd(parent, { startsAt: at(1799), durationSeconds: 1800 }, NOW)).toEqual({ ok: false, reason: 'moved' });
    expect(extendedEnd(parent, { startsAt: null, durationSeconds: 1800 }, NOW)).toEqual({ ok: false, reason: 'moved' });
  });
});

describe('extensionPendingExpiry', () => {
  it('is the TTL, or the parent end when that comes first', () => {
    expect(extensionPendingExpiry(at(1800), NOW, 600)).toEqual(at(600));
    expect(extensionPendingExpiry(at(1800), NOW, 86_400)).toEqual(at(1800));
  });
});
