import { describe, expect, it } from 'vitest';
import { findUnsafeText, humanText, MAX_NESTING_DEPTH, unsafeTextReason, visibleLength } from './text.js';

const nested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { k: value };
  return value;
};

describe('unsafeTextReason', () => {
  it.each([
    ['NUL', 'a\u0000b', /NUL/],
    ['a lone high surrogate', 'a\ud800b', /surrogate/],
    ['a lone low surrogate', '\udc00', /surrogate/],
    ['a high surrogate at the end', 'abc\ud83d', /surrogate/],
    ['a reversed pair', '\ude00\ud83d', /surrogate/],
    ['RIGHT-TO-LEFT OVERRIDE', 'txt.exe\u202egnp', /U\+202E/],
    ['LEFT-TO-RIGHT EMBEDDING', '\u202aabc', /U\+202A/],
    ['POP DIRECTIONAL FORMATTING', 'abc\u202c', /U\+202C/],
    ['LEFT-TO-RIGHT ISOLATE', '\u2066abc', /U\+2066/],
    ['POP DIRECTIONAL ISOLATE', 'abc\u2069', /U\+2069/],
    ['LEFT-TO-RIGHT MARK', 'a\u200eb', /U\+200E/],
    ['RIGHT-TO-LEFT MARK', 'a\u200fb', /U\+200F/],
    ['ARABIC LETTER MARK', 'a\u061cb', /U\+061C/],
  ])('refuses %s', (_name, text, reason) => {
    expect(unsafeTextReason(text)).toMatch(reason);
  });

  it.each([
    ['plain text', 'INC-42 hotfix'],
    ['an emoji (a valid surrogate pair)', 'ship it \ud83d\ude80'],
    ['a flag (two pairs)', '\ud83c\uddeb\ud83c\uddf7'],
    ['Arabic text without controls', 'مرحبا'],
    ['a zero-width joiner inside an emoji sequence', '\ud83d\udc69\u200d\ud83d\udcbb'],
    ['a newline and a tab', 'a\n\tb'],
    ['the empty string', ''],
  ])('accepts %s', (_name, text) => {
    expect(unsafeTextReason(text)).toBeUndefined();
  });
});

describe('findUnsafeText', () => {
  it('names the first offending value in document order', () => {
    expect(findUnsafeText({ a: 'ok', b: ['ok', 'x\u0000'], c: '\u202e' }, '/body')).toEqual({ field: '/body/b/1', message: 'contains a NUL character' });
  });

  it('names the object whose key is bad, without echoing the key', () => {
    const offence = findUnsafeText({ outer: { 'k\u202e': 1 } }, '/body');
    expect(offence?.field).toBe('/body/outer');
    expect(offence?.message).toMatch(/field name .*U\+202E/);
  });

  it('escapes keys as JSON pointer tokens', () => {
    expect(findUnsafeText({ 'a/b~c': '\u0000' }, '/body')?.field).toBe('/body/a~1b~0c');
  });

  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(findUnsafeText(nested(MAX_NESTING_DEPTH), '/body')).toBeUndefined();
    expect(findUnsafeText(nested(MAX_NESTING_DEPTH + 1), '/body')?.message).toMatch(/nests deeper/);
  });

  it('answers a value nested 100 000 levels deep without overflowing the stack', () => {
    expect(findUnsafeText(nested(100_000), '/body')?.message).toMatch(/nests deeper/);
  });

  it.each([null, undefined, 42, true, 'text', [], {}])('accepts the harmless value %j', (value) => {
    expect(findUnsafeText(value, '/body')).toBeUndefined();
  });
});

describe('visibleLength', () => {
  it.each([
    ['plain letters', 'abc', 3],
    ['twelve zero-width spaces', '\u200b'.repeat(12), 0],
    ['zero-width joiners and non-joiners', '\u200c\u200d\u2060\ufeff', 0],
    ['spaces of every kind', ' \t\n\u00a0\u2003\u3000', 0],
    ['Hangul fillers and the blank Braille pattern', '\u3164\u115f\u2800', 0],
    ['variation selectors and tags alone', '\ufe0f\udb40\udc41', 0],
    ['a soft hyphen', '\u00ad', 0],
    ['e with a combining accent', 'e\u0301', 1],
    ['a letter under fifty combining marks', `a${'\u0301'.repeat(50)}`, 1],
    ['an emoji with a skin tone', '\ud83d\udc4d\ud83c\udffd', 1],
    ['a family emoji sequence', '\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67', 1],
    ['words with zero-width spaces between letters', 'a\u200bb\u200bc', 3],
    ['words with one space between them', 'déjà vu ok', 10],
    ['a run of spaces between two letters (counts one)', `a${' '.repeat(9)}b`, 3],
    ['spaces and zero-width spaces around the text', ` \u200b abc \u200b `, 3],
    ['a space hidden among zero-width spaces between letters', 'a\u200b \u200bb', 3],
  ])('%s', (_name, text, expected) => {
    expect(visibleLength(text)).toBe(expected);
  });
});

describe('humanText', () => {
  it.each([
    ['only spaces', '      ', /no visible/],
    ['only zero-width spaces', '\u200b'.repeat(12), /no visible/],
    ['only a BOM and a word joiner', '\ufeff\u2060', /no visible/],
    ['empty', '', /no visible/],
    ['a bidi override', 'fix \u202eroot', /U\+202E/],
    ['an isolate', '\u2067fix', /U\+2067/],
    ['a NUL', 'fix\u0000', /NUL/],
    ['a lone surrogate', 'fix\ud800', /surrogate/],
    ['an escape sequence', 'fix \u001b[31m', /control character \(U\+001B\)/],
    ['a C1 control', 'fix\u0085', /U\+0085/],
    ['DEL', 'fix\u007f', /U\+007F/],
  ])('refuses %s', (_name, raw, message) => {
    const result = humanText(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(message);
  });

  it('normalises to NFC and trims', () => {
    expect(humanText('  Cafe\u0301 ouvert \n')).toEqual({ ok: true, text: 'Café ouvert' });
  });

  it('keeps tabs and line breaks inside the text', () => {
    expect(humanText('line one\r\n\tline two')).toEqual({ ok: true, text: 'line one\r\n\tline two' });
  });

  it('keeps zero-width characters that sit among visible ones', () => {
    expect(humanText('\ud83d\udc69\u200d\ud83d\udcbb on it')).toEqual({ ok: true, text: '\ud83d\udc69\u200d\ud83d\udcbb on it' });
  });
});
