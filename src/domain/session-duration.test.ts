import { describe, expect, it } from 'vitest';
import { consoleSessionSeconds, expirationVerdict, sessionLengthFor, STS_CALL_DEADLINE_SECONDS } from './session-duration.js';

const start = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(start.getTime() + ms);

describe('sessionLengthFor', () => {
  it('asks for 900 s at the very start of a 900 s window', () => {
    expect(sessionLengthFor(start, at(900_000), 43_200)).toEqual({ ok: true, durationSeconds: 900 });
  });

  it('refuses when less than 900 s are left, by as little as a millisecond', () => {
    expect(sessionLengthFor(at(1), at(900_000), 43_200)).toEqual({ ok: false, secondsLeft: 899 });
    expect(sessionLengthFor(at(900_000), at(900_000), 43_200)).toEqual({ ok: false, secondsLeft: 0 });
    expect(sessionLengthFor(at(950_000), at(900_000), 43_200)).toEqual({ ok: false, secondsLeft: 0 });
  });

  it('keeps the call allowance only above the 900 s floor', () => {
    expect(sessionLengthFor(start, at(910_000), 43_200)).toEqual({ ok: true, durationSeconds: 900 });
    expect(sessionLengthFor(start, at((900 + STS_CALL_DEADLINE_SECONDS) * 1000), 43_200)).toEqual({ ok: true, durationSeconds: 900 });
    expect(sessionLengthFor(start, at(1_800_000), 43_200)).toEqual({ ok: true, durationSeconds: 1800 - STS_CALL_DEADLINE_SECONDS });
  });

  it('never asks for more than the profile maximum', () => {
    expect(sessionLengthFor(start, at(43_200_000), 3600)).toEqual({ ok: true, durationSeconds: 3600 });
  });

  it('holds its invariants over a grid of windows, moments and maxima', () => {
    for (const windowSeconds of [900, 901, 919, 920, 921, 1800, 3600, 43_200]) {
      for (const offsetMs of [0, 1, 999, 1000, 5_000, 19_999, 20_000, 60_000, 899_999, 900_000, 3_000_000]) {
        for (const max of [900, 1000, 3600, 43_200]) {
          const endsAt = at(windowSeconds * 1000);
          const now = at(offsetMs);
          const leftMs = endsAt.getTime() - now.getTime();
          const length = sessionLengthFor(now, endsAt, max);
          const label = `${windowSeconds} s window, +${offsetMs} ms, max ${max}`;
          expect(length.ok, label).toBe(leftMs >= 900_000);
          if (!length.ok) continue;
          expect(length.durationSeconds, label).toBeGreaterThanOrEqual(900);
          expect(length.durationSeconds, label).toBeLessThanOrEqual(max);
          // STS answering at once: the session ends by the window end.
          expect(now.getTime() + length.durationSeconds * 1000, label).toBeLessThanOrEqual(endsAt.getTime());
          // Where the allowance fits above the floor, a call that takes all of it still ends in time.
          if (leftMs >= (900 + STS_CALL_DEADLINE_SECONDS) * 1000) {
            expect(now.getTime() + (STS_CALL_DEADLINE_SECONDS + length.durationSeconds) * 1000, label).toBeLessThanOrEqual(endsAt.getTime());
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

  it('is null with less than 900 s left', () => {
    expect(consoleSessionSeconds(at(1), at(900_000))).toBeNull();
  });
});
