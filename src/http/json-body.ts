import { Problem } from './problems.js';

/**
 * What the API's JSON parser refuses beyond JSON's own syntax (SPEC §3 rule 7). Two parsers
 * reading one body differently is how a proxy or WAF that checks a field is bypassed: a charset
 * other than UTF-8 (a proxy honouring it reads other characters than Brevet), bytes that are not
 * UTF-8 (JSON.parse would see U+FFFD where another reader sees something else) and an object
 * naming a key twice (JSON.parse keeps the last, many readers the first) have no single meaning,
 * so they are refused rather than guessed at.
 */
export function bodyProblem(field: string, message: string): Problem {
  return new Problem('validation', `${field}: ${message}`, { errors: [{ field, message }] });
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/** 415 unless the Content-Type names no charset or UTF-8 (RFC 8259: JSON is UTF-8). */
export function refuseForeignCharset(contentType: string | undefined): void {
  const charset = CHARSET.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new Problem('unsupported-media-type', 'send JSON as UTF-8 (charset=utf-8, or no charset)');
  }
}

// Not fatal on a leading BOM: the decoder drops it, as JSON readers that accept one do.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text, or a 400 when its bytes are not UTF-8. */
export function decodeUtf8(body: Buffer): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw bodyProblem('/body', 'is not valid UTF-8');
  }
}

type Frame = { kind: 'object'; path: string; keys: Set<string>; key: string; expectingKey: boolean } | { kind: 'array'; path: string; index: number };

const pointerPart = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The JSON Pointer (under /body) of the first key an object in `text` repeats, comparing keys as
 * JSON.parse decodes them (`"a"` and `"\u0061"` are one key). `text` is JSON that JSON.parse
 * accepted, so one pass that follows strings and brackets is enough: it costs about what
 * JSON.parse does (a full JSON parser costs ~40× more, at every body), and keeps its own stack,
 * so any depth the body limit allows is fine.
 */
export function firstRepeatedKey(text: string): string | undefined {
  const stack: Frame[] = [];
  const childPath = () => {
    const parent = stack.at(-1);
    if (parent === undefined) return '/body';
    return parent.kind === 'object' ? `${parent.path}/${pointerPart(parent.key)}` : `${parent.path}/${parent.index}`;
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i += 1; i < text.length && text.charCodeAt(i) !== QUOTE; i += 1) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i += 1;
        }
      }
      const top = stack.at(-1);
      if (top?.kind === 'object' && top.expectingKey) {
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (top.keys.has(key)) return `${top.path}/${pointerPart(key)}`;
        top.keys.add(key);
        top.key = key;
        top.expectingKey = false;
      }
      continue;
    }
    const top = stack.at(-1);
    switch (text[i]) {
      case '{':
        stack.push({ kind: 'object', path: childPath(), keys: new Set(), key: '', expectingKey: true });
        break;
      case '[':
        stack.push({ kind: 'array', path: childPath(), index: 0 });
        break;
      case '}':
      case ']':
        stack.pop();
        break;
      case ',':
        if (top?.kind === 'object') top.expectingKey = true;
        else if (top !== undefined) top.index += 1;
        break;
    }
  }
  return undefined;
}
