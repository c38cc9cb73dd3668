import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['30m', 1800],
    ['1h', 3600],
    ['1h30m', 5400],
    ['900', 900],
    ['90s', 90],
    ['2h15m30s', 8130],
    ['1H30M', 5400],
    ['  45m ', 2700],
    ['30m\n', 1800],
    ['0900', 900],
    ['999999', 999999],
  ])('reads %j as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each([
    '',
    ' ',
    '-5',
    '-5m',
    '+5m',
    '1x',
    '1h1h',
    '30m1h',
    '1s1m',
    '999999999',
    '1e3',
    '0x10',
    '1.5h',
    '1,5h',
    '1 h',
    '1h 30m',
    'h',
    'm',
    '30 m',
    'thirty minutes',
    '30min',
    '1d',
    'Infinity',
    'NaN',
    '١٢٣', // Arabic-Indic digits are not ASCII digits.
    '３０m', // Full-width digits neither.
    '1234h',
    '30m30m',
    '1h\u0000',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it('never returns a negative, fractional or non-finite number', () => {
    const samples = ['0', '0m', '0h0m0s', '999h9999m999999s', '000000', '1'];
    for (const text of samples) {
      const seconds = parseDuration(text);
      expect(seconds === null || (Number.isSafeInteger(seconds) && seconds >= 0), text).toBe(true);
    }
  });
});
