// The details' canonical JSON taken from jsonb's text is exactly canonicalJson(JSON.parse(text)):
// for jsonb's own text of any object, for any JSON text, and for texts that are not quite either.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalDetails, flatCanonical } from './jsonb-details.js';
import { canonicalJson } from './proof.js';

/** A string as jsonb's text writes it (PostgreSQL's escape_json): \u00xx in lower case for control characters but the named ones. */
function jsonbString(value: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return `"${value.replace(/["\\\u0000-\u001f]/g, (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** jsonb's text of a value: object keys by length then bytes, ", " and ": " between them, numbers as written. */
function jsonbText(value: unknown, number: (n: number) => string): string {
  if (typeof value === 'string') return jsonbString(value);
  if (typeof value === 'number') return number(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => jsonbText(v, number)).join(', ')}]`;
  const keys = Object.keys(value).sort((a, b) => Buffer.byteLength(a) - Buffer.byteLength(b) || Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${jsonbString(k)}: ${jsonbText((value as Record<string, unknown>)[k], number)}`).join(', ')}}`;
}

const unit = fc.constantFrom('"', '\\', '\t', '\n', '\u0000', '\u0001', '\u001f', '\u007f', ' ', 'a', 'b', 'é', '\u2028', '\ud83d\ude00', '\ud800', '/', 'u', '0');
const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit }), fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'aa', 'ab') }));
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e15, 1e15 - 1, -(1e15 - 1), 1e21, 0.1, 2.5, true, false, null),
);
const flat = fc.dictionary(text, scalar, { maxKeys: 8 });
const any = fc.dictionary(text, fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 });
/** How PostgreSQL's numeric may write a number: as JSON.stringify does, with trailing zeros, or an exponent. */
const numberText = fc.constantFrom(
  (n: number) => JSON.stringify(n),
  (n: number) => (Number.isInteger(n) && Math.abs(n) < 1e21 ? `${JSON.stringify(n)}.0` : JSON.stringify(n)),
  (n: number) => n.toExponential(),
  (n: number) => (Object.is(n, -0) ? '-0' : JSON.stringify(n)),
);

const expected = (t: string) => canonicalJson(JSON.parse(t));
const same = (t: string) => {
  let wanted: string | Error;
  try {
    wanted = expected(t);
  } catch (error) {
    wanted = error as Error;
  }
  if (wanted instanceof Error) expect(() => canonicalDetails(t)).toThrow();
  else expect(canonicalDetails(t)).toBe(wanted);
};

describe('the canonical JSON of details from jsonb text', () => {
  it('is canonicalJson of the parsed text for jsonb text of flat objects, which it takes as it is', () => {
    fc.assert(
      fc.property(flat, numberText, (details, number) => {
        same(jsonbText(details, number));
      }),
      { numRuns: 5_000 },
    );
  });

  it('takes the flat objects jsonb writes for Brevet (keys with nothing to escape) without parsing them', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'grapheme' }).filter((k) => !/["\\\u0000-\u001f]/.test(k)), fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer(), fc.boolean(), fc.constant(null)), { minKeys: 1 }), (details) => {
        const t = jsonbText(details, (n) => JSON.stringify(n));
        expect(flatCanonical(t)).toBe(expected(t));
      }),
    );
  });

  it('is canonicalJson of the parsed text for nested objects and any spacing', () => {
    fc.assert(
      fc.property(any, numberText, fc.constantFrom(undefined, 1, 2, '\t'), (details, number, spacing) => {
        same(jsonbText(details, number));
        same(JSON.stringify(details, null, spacing));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is canonicalJson of the parsed text, or throws as JSON.parse does, for texts cut or changed anywhere', () => {
    const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 3 }), insert: fc.string({ unit: fc.constantFrom('"', '\\', ',', ' ', ':', '}', '{', '0', '-', 'u', 'e', '.', 'a', '\n') , maxLength: 3 }) });
    fc.assert(
      fc.property(flat, fc.array(edit, { maxLength: 3 }), (details, edits) => {
        let t = jsonbText(details, (n) => JSON.stringify(n));
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          t = t.slice(0, at) + e.insert + t.slice(at + e.cut);
        }
        same(t);
      }),
      { numRuns: 5_000 },
    );
  });

  it.each([
    ['{"a": 1, "a": 2}'],
    ['{"a": -0}'],
    ['{"a": 01}'],
    ['{"a": 1e3}'],
    ['{"a": 1.0}'],
    ['{"a": 1234567890123456}'],
    ['{"a": "\\u0041"}'],
    ['{"a": "\\u000A"}'],
    ['{"a": "\\u000a"}'],
    ['{"a": "\\/"}'],
    ['{"a\\"b": 1}'],
    ['{"a": "x\u0001"}'],
    ['{"a": "\ud800"}'],
    ['{"a":1}'],
    ['{"a": 1,"b": 2}'],
    ['{"a": [1]}'],
    ['{"a": {}}'],
  ])('leaves %s to the general way', (t) => {
    expect(flatCanonical(t)).toBeUndefined();
    same(t);
  });

  it.each([
    ['{"b": 1, "a": "x"}', '{"a":"x","b":1}'],
    ['{"a": "\\"q\\" \\\\ \\n \\u001f", "a b": null}', '{"a":"\\"q\\" \\\\ \\n \\u001f","a b":null}'],
    ['{"aa": true, "b": false, "": 0, "-": -999999999999999}', '{"":0,"-":-999999999999999,"aa":true,"b":false}'],
  ])('takes %s as %s', (t, canonical) => {
    expect(flatCanonical(t)).toBe(canonical);
    same(t);
  });
});
