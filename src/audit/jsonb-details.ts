// An event's details come from PostgreSQL as jsonb's text: keys ordered by length, ", " and ": "
// between them. For the flat objects Brevet writes, the canonical JSON is that text with its keys
// re-sorted and the spaces taken out, so a verification can skip JSON.parse and canonicalJson for
// them (a third of what the rest of an event costs it). Anything else goes the general way.
import { canonicalJson } from './proof.js';

/** canonicalJson(JSON.parse(text)), for any text. */
export function canonicalDetails(text: string): string {
  if (text === '{}') return text;
  return flatCanonical(text) ?? canonicalJson(JSON.parse(text));
}

/**
 * The canonical JSON of `{"key": value, …}` (jsonb's spacing) whose keys hold no escape and whose
 * values are strings, integers of up to 15 digits, true, false or null, each written exactly as
 * JSON.stringify writes it; undefined for any other text. The keys and values are copied as they
 * are, so they must be what canonicalJson writes: a string with only the escapes JSON.stringify
 * uses (\" \\ \b \f \n \r \t, and \u00xx in lower case for the other control characters), no raw
 * control character or lone surrogate; an integer without a leading zero, sign or exponent, not -0.
 */
export function flatCanonical(text: string): string | undefined {
  if (text.charCodeAt(0) !== OPEN || text.charCodeAt(text.length - 1) !== CLOSE || NOT_AS_IS.test(text)) return undefined;
  const keys: string[] = [];
  const values: string[] = [];
  // The next backslash from where the scan is (-1: none left), found once rather than per string.
  let backslash = text.indexOf('\\');
  let at = 1;
  for (;;) {
    if (text.charCodeAt(at) !== QUOTE) return undefined;
    const keyEnd = text.indexOf('"', at + 1);
    if (keyEnd === -1 || (backslash !== -1 && backslash < keyEnd)) return undefined;
    if (text.charCodeAt(keyEnd + 1) !== COLON || text.charCodeAt(keyEnd + 2) !== SPACE) return undefined;
    let valueEnd = keyEnd + 3;
    if (text.charCodeAt(valueEnd) === QUOTE) {
      // A string: up to the first quote that no backslash escapes.
      for (;;) {
        const quote = text.indexOf('"', valueEnd + 1);
        if (quote === -1) return undefined;
        if (backslash === -1 || backslash > quote) {
          valueEnd = quote + 1;
          break;
        }
        valueEnd = escapeEnd(text, backslash) - 1;
        if (valueEnd < 0) return undefined;
        backslash = text.indexOf('\\', valueEnd + 1);
      }
    } else {
      valueEnd = literalEnd(text, valueEnd);
      if (valueEnd === -1) return undefined;
    }
    // Unquoted: "a" sorts before "a b", but a quote sorts after the space.
    keys.push(text.slice(at + 1, keyEnd));
    values.push(text.slice(keyEnd + 3, valueEnd));
    if (valueEnd === text.length - 1) break;
    if (text.charCodeAt(valueEnd) !== COMMA || text.charCodeAt(valueEnd + 1) !== SPACE) return undefined;
    at = valueEnd + 2;
  }
  return sortedObject(keys, values);
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22; // "
const COLON = 0x3a;
const SPACE = 0x20;
const COMMA = 0x2c;

/** JSON.parse refuses a raw control character in a string, and JSON.stringify escapes a lone surrogate. */
const NOT_AS_IS = /[\u0000-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The index after the escape at `at` (a backslash), or -1 when JSON.stringify writes that character otherwise. */
function escapeEnd(text: string, at: number): number {
  const c = text[at + 1];
  if (c === '"' || c === '\\' || c === 'b' || c === 'f' || c === 'n' || c === 'r' || c === 't') return at + 2;
  return c === 'u' && CONTROL_ESCAPE.test(text.slice(at + 2, at + 6)) ? at + 6 : -1;
}

/** The \u00xx JSON.stringify writes: the control characters but the five it names (\b \t \n \f \r). */
const CONTROL_ESCAPE = /^00(?:0[0-7bef]|1[0-9a-f])$/;

/** The index after the true, false, null or integer at `at`, or -1 (the caller checks what follows). */
function literalEnd(text: string, at: number): number {
  if (text.startsWith('true', at) || text.startsWith('null', at)) return at + 4;
  if (text.startsWith('false', at)) return at + 5;
  INTEGER.lastIndex = at;
  return INTEGER.test(text) ? INTEGER.lastIndex : -1;
}

/** An integer JSON.stringify(JSON.parse(…)) gives back as it is: exact as a double, not -0. */
const INTEGER = /-?[1-9]\d{0,14}|0/y;

/** {"key":value,…} in the order of the keys' UTF-16 code units (the keys hold nothing to escape). */
function sortedObject(keys: string[], values: string[]): string | undefined {
  // Insertion sort: a handful of keys.
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    const value = values[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) {
      keys[j + 1] = keys[j]!;
      values[j + 1] = values[j]!;
    }
    // Two equal keys: JSON.parse keeps the last; jsonb never writes them.
    if (j >= 0 && keys[j] === key) return undefined;
    keys[j + 1] = key;
    values[j + 1] = value;
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i === 0 ? '"' : ',"'}${keys[i]}":${values[i]}`;
  return `${out}}`;
}
