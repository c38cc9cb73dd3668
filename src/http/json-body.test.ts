import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../app.js';
import { firstRepeatedKey } from './json-body.js';

describe('firstRepeatedKey', () => {
  it.each([
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":1}', '/body/a'],
    ['{"a":1,"\\u0061":2}', '/body/a'],
    ['{"a":{"a":1},"b":{"a":2}}', undefined],
    ['[{"x":1},{"x":2,"y":[{"z":0,"z":1}]}]', '/body/1/y/0/z'],
    ['{"a/b~c":1,"a/b~c":2}', '/body/a~1b~0c'],
    ['{"k":"\\"k\\":1","k2":["k","k"]}', undefined],
    ['"a"', undefined],
    ['[]', undefined],
  ])('%s → %s', (text, expected) => {
    expect(firstRepeatedKey(text)).toBe(expected);
  });

  it('finds nothing in any JSON that JSON.stringify wrote (it never repeats a key), whatever its characters', () => {
    for (const stringUnit of ['grapheme', 'binary'] as const) {
      fc.assert(fc.property(fc.jsonValue({ stringUnit }), (value) => firstRepeatedKey(JSON.stringify(value)) === undefined));
    }
  });

  it('names a key repeated in any object, however it was written', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), (object, pick) => {
        const keys = Object.keys(object);
        const key = keys[pick % keys.length]!;
        const text = `${JSON.stringify(object).slice(0, -1)},${JSON.stringify(key)}:null}`;
        return firstRepeatedKey(text) === `/body/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      }),
    );
  });

  it('scans the deepest nesting the body limit allows without running out of stack', () => {
    const depth = BODY_LIMIT_BYTES / 2;
    expect(firstRepeatedKey(`${'['.repeat(depth)}${']'.repeat(depth)}`)).toBeUndefined();
    expect(firstRepeatedKey(`${'{"a":'.repeat(10_000)}{"b":1,"b":2}${'}'.repeat(10_000)}`)).toBe(`/body${'/a'.repeat(10_000)}/b`);
  });
});
