import { describe, expect, it } from 'vitest';
import { consoleSessionSeconds, expirationVerdict, sessionLengthFor, STS_CALL_ALLOWANCE_SECONDS, WINDOW_START_GRACE_SECONDS } from './session-duration.js';

const start = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(start.getTime() + ms);

describe('sessionLengthFor', () => {
  it('asks for 900 s at the very start of a 900 s window, cut off at its end', () => {
    expect(sessionLengthFor(start, at(900_000), 43_200)).toEqual({ ok: true, durationSeconds: 900, cutOffAt: at(900_000) });
  });

  it('still counts the first seconds of a 900 s window as its start', () => {
    expect(sessionLengthFor(at(1), at(900_000), 43_200)).toEqual({ ok: true, durationSeconds: 900, cutOffAt: at(900_000) });
    expect(sessionLengthFor(at(WINDOW_START_GRACE_SECONDS * 1000), at(900_000), 43_200)).toEqual({ ok: true, durationSeconds: 900, cutOffAt: at(900_000) });
  });

  it('refuses once less than 900 s less the start grace are left', () => {
    expect(sessionLengthFor(at(WINDOW_START_GRACE_SECONDS * 1000 + 1), at(900_000), 43_200)).toEqual({ ok: false, secondsLeft: 900 - WINDOW_START_GRACE_SECONDS - 1 });
    expect(WINDOW_START_GRACE_SECONDS).toBe(2);
    expect(sessionLengthFor(at(900_000), at(900_000), 43_200)).toEqual({ ok: false, secondsLeft: 0 });
    expect(sessionLengthFor(at(950_000), at(900_000), 43_200)).toEqual({ ok: false, secondsLeft: 0 });
  });

  it('takes the call allowance only above the 900 s floor, and cuts off below it', () => {
    expect(sessionLengthFor(start, at(901_000), 43_200)).toEqual({ ok: true, durationSeconds: 900, cutOffAt: at(901_000) });
    expect(sessionLengthFor(start, at((900 + STS_CALL_ALLOWANCE_SECONDS) * 1000), 43_200)).toEqual({ ok: true, durationSeconds: 900, cutOffAt: null });
    expect(sessionLengthFor(start, at(1_800_000), 43_200)).toEqual({ ok: true, durationSeconds: 1800 - STS_CALL_ALLOWANCE_SECONDS, cutOffAt: null });
  });

  it('never asks for more than the profile maximum', () => {
    expect(sessionLengthFor(start, at(43_200_000), 3600)).toEqual({ ok: true, durationSeconds: 3600, cutOffAt: null });
  });

  it('holds its invariants over a grid of windows, moments and maxima', () => {
    for (const windowSeconds of [900, 901, 902, 903, 919, 920, 921, 1800, 3600, 43_200]) {
      for (const offsetMs of [0, 1, 999, 1000, 5_000, 9_999, 10_000, 10_001, 19_999, 20_000, 60_000, 899_999, 900_000, 3_000_000]) {
        for (const max of [900, 1000, 3600, 43_200]) {
          const endsAt = at(windowSeconds * 1000);
          const now = at(offsetMs);
          const leftMs = endsAt.getTime() - now.getTime();
          const length = sessionLengthFor(now, endsAt, max);
          const label = `${windowSeconds} s window, +${offsetMs} ms, max ${max}`;
          expect(length.ok, label).toBe(leftMs >= (900 - WINDOW_START_GRACE_SECONDS) * 1000);
          if (!length.ok) continue;
          expect(length.durationSeconds, label).toBeGreaterThanOrEqual(900);
          expect(length.durationSeconds, label).toBeLessThanOrEqual(max);
          if (length.cutOffAt === null) {
            // A call that takes all of the allowance still ends in time.
            expect(now.getTime() + (STS_CALL_ALLOWANCE_SECONDS + length.durationSeconds) * 1000, label).toBeLessThanOrEqual(endsAt.getTime());
          } else {
            // Only where STS's floor outlasts the window, and then cut off exactly at its end.
            expect(length.durationSeconds, label).toBe(900);
            expect(leftMs, label).toBeLessThan((900 + STS_CALL_ALLOWANCE_SECONDS + 1) * 1000);
            expect(length.cutOffAt, label).toEqual(endsAt);
          }
        }
      }
    }
  });
});

describe('expirationVerdict', () => {
  const endsAt = at(900_000);
  it('accepts an expiration at or before the window end', () => {
    expect(expirationVerdict(endsAt, endsAt, 900, start)).toBe('within-window');
    expect(expirationVerdict(at(899_000), endsAt, 900, start)).toBe('within-window');
  });

  it('tells a session started during a slow call from an AWS clock ahead of Brevet', () => {
    // STS started 1.5 s after Brevet planned, Brevet got the answer 2 s after.
    expect(expirationVerdict(at(901_500), endsAt, 900, at(2_000))).toBe('window-ran-out');
    // Whole-second printing: STS's start may read up to a second after Brevet's answer.
    expect(expirationVerdict(at(903_000), endsAt, 900, at(2_000))).toBe('window-ran-out');
    expect(expirationVerdict(at(903_001), endsAt, 900, at(2_000))).toBe('aws-clock-ahead');
    expect(expirationVerdict(at(960_000), endsAt, 900, start)).toBe('aws-clock-ahead');
  });
});

describe('consoleSessionSeconds', () => {
  it('is the time left, 900..43200', () => {
    expect(consoleSessionSeconds(start, at(900_000))).toBe(900);
    expect(consoleSessionSeconds(start, at(1_800_500))).toBe(1800);
    expect(consoleSessionSeconds(start, at(50_000_000))).toBe(43_200);
  });

  it('is 900 in the first seconds of a 900 s window, null after them', () => {
    expect(consoleSessionSeconds(at(1), at(900_000))).toBe(900);
    expect(consoleSessionSeconds(at(WINDOW_START_GRACE_SECONDS * 1000 + 1), at(900_000))).toBeNull();
  });
});
