// Junk for every route of the committed OpenAPI document: fast-check arbitraries guided by each
// operation's schemas (so that values get past the outer checks and reach deeper code), mixed
// with text that has to be refused wherever it appears.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

type Schema = Record<string, unknown>;

export interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema: Schema;
}

export interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete' | 'put';
  /** OpenAPI template, e.g. `/v1/requests/{id}`. */
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
  /** False for the routes that need no authentication (`security: []`). */
  authenticated: boolean;
}

const document = JSON.parse(readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> }; security?: unknown[] }>>;
  components: { schemas: Record<string, Schema> };
};

/** Every operation of the document: routes added later are fuzzed without touching the test. */
export const operations: Operation[] = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, op]) => ({
    method: method as Operation['method'],
    path,
    parameters: op.parameters ?? [],
    body: op.requestBody?.content['application/json']?.schema,
    authenticated: !(Array.isArray(op.security) && op.security.length === 0),
  })),
);

/** Characters that every part of every request must refuse (SPEC §3 rule 7; src/domain/text.ts). */
export const POISON = ['\u0000', '\ud800', '\udfff', '\ude00\ud83d', '\u202e', '\u202a', '\u2066', '\u2069', '\u200e', '\u200f', '\u061c'];
/** The poison a URL can carry: a lone surrogate is not UTF-8, so it never arrives from a URL as one. */
export const URL_POISON = ['\u0000', '\u202e', '\u2067', '\u200f', '\u061c'];

/** Odd but harmless text: zero-width and combining characters, emoji, RTL letters, markup, escapes. */
const NOISE_UNITS = ['a', 'Z', '7', ' ', '-', '_', '.', '/', '%', '"', '\\', "'", '<', '>', '\t', '\n', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u0301', '\u00e9', '\ud83d\ude00', 'م', '\u3164', '\u2800', '~', '{', '}', '[', ']', '$', '*'];
const noiseText = fc.array(fc.constantFrom(...NOISE_UNITS), { maxLength: 24 }).map((units) => units.join(''));
const hugeText = fc.constantFrom(2_000, 9_000, 70_000).map((n) => 'x'.repeat(n));
export const junkString = fc.oneof({ weight: 8, arbitrary: noiseText }, { weight: 1, arbitrary: hugeText }, { weight: 1, arbitrary: fc.string() });

export const poisonString = fc
  .tuple(noiseText, fc.constantFrom(...POISON), noiseText)
  .map(([before, poison, after]) => `${before}${poison}${after}`);

/**
 * A value `levels` deep, of arrays and objects in turn. Kept shallow enough for fast-check to print
 * in a counterexample; deeper nesting is sent as raw JSON text (deepJson).
 */
export const deep = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i += 1) value = i % 2 === 0 ? [value] : { k: value };
  return value;
};

/** JSON text nested `levels` deep under `field`: thousands of levels stay cheap to generate and print. */
export const deepJson = (field: string, levels: number) => `{${JSON.stringify(field)}:${'['.repeat(levels)}${']'.repeat(levels)}}`;

/** Any JSON value, of any type, sometimes odd numbers or nesting deeper than Brevet takes. */
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: junkString },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5, 1e308, -2147483649, 9007199254740993, null, true, [], {}) },
  { weight: 1, arbitrary: fc.constantFrom(33, 40).map(deep) },
);

function resolve(schema: Schema): Schema {
  const ref = schema['$ref'];
  if (typeof ref !== 'string') return schema;
  const name = ref.replace(/^#\/components\/schemas\//, '').replace(/#$/, '');
  return resolve(document.components.schemas[name] ?? {});
}

function stringFor(schema: Schema): fc.Arbitrary<string> {
  if (schema['format'] === 'date-time') {
    return fc.date({ min: new Date('1969-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  const pattern = schema['pattern'];
  if (typeof pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(pattern)).filter((s) => s.length <= ((schema['maxLength'] as number | undefined) ?? 10_000));
    } catch {
      // A pattern fast-check cannot generate from: noise it is.
    }
  }
  return noiseText;
}

/**
 * Values shaped by `schema` most of the time, junk of any type the rest: required fields are
 * sometimes missing, unknown ones sometimes there, numbers sometimes out of range.
 */
export function fromSchema(input: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(input);
  return fc.oneof({ weight: 5, arbitrary: shaped(schema) }, { weight: 1, arbitrary: junkValue });
}

function shaped(schema: Schema): fc.Arbitrary<unknown> {
  if (Array.isArray(schema['anyOf'])) return fc.oneof(...(schema['anyOf'] as Schema[]).map(fromSchema));
  if ('const' in schema) return fc.constant(schema['const']);
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
  switch (schema['type']) {
    case 'object': {
      const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
      const required = (schema['required'] ?? []) as string[];
      const fields = Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, fromSchema(s)]));
      const known = fc.oneof({ weight: 4, arbitrary: fc.record(fields, { requiredKeys: required }) }, { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) });
      const extra = typeof schema['additionalProperties'] === 'object' ? fc.dictionary(noiseText, fromSchema(schema['additionalProperties'] as Schema), { maxKeys: 3 }) : fc.constant({});
      const unknown = fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(noiseText, junkValue, { maxKeys: 2 }) });
      return fc.tuple(known, extra, unknown).map(([a, b, c]) => ({ ...c, ...b, ...a }));
    }
    case 'array':
      return fc.array(fromSchema((schema['items'] ?? {}) as Schema), { maxLength: 4 });
    case 'string':
      return stringFor(schema);
    case 'integer':
    case 'number': {
      const min = (schema['minimum'] as number | undefined) ?? -1_000_000;
      const max = (schema['maximum'] as number | undefined) ?? 1_000_000;
      return fc.oneof({ weight: 4, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1, 0.5) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return junkValue;
  }
}

/** A parameter value as text: shaped by its schema, or junk. */
export function textFor(schema: Schema): fc.Arbitrary<string> {
  return fromSchema(schema).map((value) => (typeof value === 'string' ? value : JSON.stringify(value) ?? ''));
}

/**
 * Percent-encodes any JavaScript string for a URL. A lone surrogate has no UTF-8 form: it is
 * written as the three bytes it would take (WTF-8), which no server may decode as text.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (const character of text) {
    const code = character.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(character);
    }
  }
  return out;
}

/** Header values HTTP can carry (visible Latin-1 and spaces): anything else never leaves the client. */
export const headerText = fc
  .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })), { maxLength: 40 })
  .map((codes) => String.fromCharCode(...codes).trim());
