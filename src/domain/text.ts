/**
 * What Brevet accepts as text, wherever it comes from (request bodies, query strings, path
 * parameters, headers, token claims, Slack payloads). Pure: the HTTP edge, the OIDC verifier and
 * the Slack entry points all call these same functions.
 */

/**
 * Characters that make text display in another order than it is stored ("Trojan Source",
 * CVE-2021-42574): the embeddings and overrides U+202A–202E, the isolates U+2066–2069, and the
 * marks U+200E, U+200F, U+061C. Refused everywhere: a justification, a name or a group that reads
 * one way to an approver and means another is worse than a refused one.
 */
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
/** A UTF-16 surrogate on its own: PostgreSQL refuses it in jsonb and it is not text in UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;

/** How deeply any JSON value sent to Brevet may nest (an IAM policy needs about 5 levels). */
export const MAX_NESTING_DEPTH = 32;

/**
 * Why `text` is refused anywhere in Brevet, or undefined when it is acceptable: NUL (PostgreSQL
 * text and jsonb cannot hold it), a lone surrogate, or a bidirectional control character.
 */
export function unsafeTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate (not valid Unicode text)';
  const bidi = BIDI_CONTROL.exec(text);
  if (bidi !== null) return `contains a bidirectional control character (U+${codePoint(bidi[0])})`;
  return undefined;
}

export interface TextOffence {
  /** JSON pointer of the offending value under `root`, e.g. `/body/groups/0`. */
  field: string;
  message: string;
}

/**
 * The first string (value or key) of `value` that unsafeTextReason refuses, or the first place it
 * nests deeper than MAX_NESTING_DEPTH. Iterative: a body nested thousands of levels deep is
 * answered, not a stack overflow.
 */
export function findUnsafeText(value: unknown, root: string): TextOffence | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: root, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, path, depth } = stack.pop()!;
    if (typeof current === 'string') {
      const reason = unsafeTextReason(current);
      if (reason !== undefined) return { field: path, message: reason };
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= MAX_NESTING_DEPTH) return { field: path, message: `nests deeper than ${MAX_NESTING_DEPTH} levels` };
    const entries = Object.entries(current);
    // Pushed in reverse so that the first offence in document order is the one named.
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const [key, child] = entries[i]!;
      const keyReason = unsafeTextReason(key);
      // The key itself is not echoed back: it is the offending text.
      if (keyReason !== undefined) return { field: path, message: `has a field name that ${keyReason}` };
      stack.push({ value: child, path: `${path}/${pointerToken(key)}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/** RFC 6901: `~` and `/` in a key are escaped in a JSON pointer. */
function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Controls other than tab, line feed and carriage return (C0, DEL, C1). */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;
/**
 * A grapheme is visible when it has something other than white space, controls, format characters
 * and the code points Unicode says to render as nothing (zero-width space and joiners, word joiner,
 * BOM, variation selectors, Hangul fillers, tags…), or the blank Braille pattern.
 */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]/u;
const WHITE_SPACE = /\p{White_Space}/u;
/** Any of these is a visible grapheme (or part of one): the common case skips segmenting. */
const PRINTABLE_ASCII = /[!-~]/;
const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * The length of `text` as a reader sees it, in grapheme clusters: visible ones count one each, a
 * run of white space between two of them counts one, and nothing else counts (leading and
 * trailing space, zero-width and other invisible characters). Twelve zero-width spaces count 0,
 * `e` + U+0301 counts 1, `a` and `b` with nine spaces between count 3.
 */
export function visibleLength(text: string): number {
  let count = 0;
  let spaceBefore = false;
  for (const { segment } of graphemes.segment(text)) {
    if (VISIBLE.test(segment)) {
      count += count > 0 && spaceBefore ? 2 : 1;
      spaceBefore = false;
    } else if (WHITE_SPACE.test(segment)) {
      spaceBefore = true;
    }
  }
  return count;
}

export const NOTHING_VISIBLE = 'has no visible characters';

export type HumanTextResult = { ok: true; text: string } | { ok: false; message: string };

/**
 * Free text people write for other people to read (a justification, a review comment, a reason):
 * refused when unsafe anywhere (above) or when it holds control characters other than tab and line
 * breaks; otherwise normalised to NFC (one spelling for what looks the same) and trimmed. Text with
 * nothing visible in it (spaces, zero-width characters) is refused: it explains nothing.
 */
export function humanText(raw: string): HumanTextResult {
  const unsafe = unsafeTextReason(raw);
  if (unsafe !== undefined) return { ok: false, message: unsafe };
  const control = CONTROL.exec(raw);
  if (control !== null) return { ok: false, message: `contains a control character (U+${codePoint(control[0])})` };
  const text = raw.normalize('NFC').trim();
  if (!PRINTABLE_ASCII.test(text) && visibleLength(text) === 0) return { ok: false, message: NOTHING_VISIBLE };
  return { ok: true, text };
}

function codePoint(character: string): string {
  return character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}
