import { tokenize } from '@humanwhocodes/momoa';
import { Problem } from './problems.js';

/**
 * What the API's JSON parser refuses beyond JSON's own syntax, each as 400 naming /body (SPEC §3
 * rule 7). Two parsers reading one body differently is how a proxy or WAF that checks a field is
 * bypassed: bytes that are not UTF-8 (JSON.parse would see U+FFFD where another reader sees
 * something else) and an object naming a key twice (JSON.parse keeps the last, many readers the
 * first) have no single meaning, so they are refused rather than guessed at.
 */
export function bodyProblem(field: string, message: string): Problem {
  return new Problem('validation', `${field}: ${message}`, { errors: [{ field, message }] });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text, or a 400 when its bytes are not UTF-8. */
export function decodeUtf8(body: Buffer): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw bodyProblem('/body', 'is not valid UTF-8');
  }
}

type Frame = { kind: 'object'; path: string; keys: Set<string>; key: string } | { kind: 'array'; path: string; index: number };

const pointerPart = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The JSON Pointer (under /body) of the first key an object in `text` repeats, comparing keys as
 * JSON.parse decodes them (`"a"` and `"\u0061"` are one key). `text` is valid JSON; the scan keeps
 * its own stack, so any depth the body limit allows is fine.
 */
export function firstRepeatedKey(text: string): string | undefined {
  const tokens = tokenize(text);
  const stack: Frame[] = [];
  const childPath = () => {
    const parent = stack.at(-1);
    if (parent === undefined) return '/body';
    return parent.kind === 'object' ? `${parent.path}/${pointerPart(parent.key)}` : `${parent.path}/${parent.index}`;
  };
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    const top = stack.at(-1);
    switch (token.type) {
      case 'LBrace':
        stack.push({ kind: 'object', path: childPath(), keys: new Set(), key: '' });
        break;
      case 'LBracket':
        stack.push({ kind: 'array', path: childPath(), index: 0 });
        break;
      case 'RBrace':
      case 'RBracket':
        stack.pop();
        break;
      case 'Comma':
        if (top?.kind === 'array') top.index += 1;
        break;
      case 'String':
        if (top?.kind === 'object' && tokens[i + 1]?.type === 'Colon') {
          const key = JSON.parse(text.slice(token.loc.start.offset, token.loc.end.offset)) as string;
          if (top.keys.has(key)) return `${top.path}/${pointerPart(key)}`;
          top.keys.add(key);
          top.key = key;
        }
        break;
    }
  }
  return undefined;
}
