// The COPY reader of the verification gives, for every row, exactly the canonical JSON that
// canonicalEvent gives for the event's fields, however the stream is cut into chunks and
// whatever the fields hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventCopyParser, isoTime, type CopiedEvent } from './event-copy.js';
import { canonicalEvent, type HashedFields } from './proof.js';

/** A field as COPY ... TO STDOUT (text format) writes it: NULL as \N, backslash and control characters escaped. */
function copyField(value: string | null): string {
  if (value === null) return '\\N';
  const escapes: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  return value.replace(/[\\\b\f\n\r\t\v]/g, (c) => escapes[c]!);
}

/** timestamptz's text in UTC with DateStyle ISO: fractional seconds to the microsecond, trailing zeros dropped. */
function pgTimestamp(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = `${iso.slice(20, 23)}${String(micros).padStart(3, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction === '' ? '' : `.${fraction}`}+00`;
}

interface Row {
  fields: HashedFields;
  /** occurred_at's text in the row. */
  occurredAtText: string;
  prevHash: string | null;
  hash: string;
  /** details as jsonb's text gives it (any JSON text that parses to them). */
  detailsText: string;
}

const text = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\t', '\n', '\r', '\b', '\f', '\v', '\u0001', '\u001f', '\u007f', 'N', '\u202e', '\ud83d\ude00', 'é', 'a', ' ') }),
  fc.constantFrom('\\N', 'N', '\\', '', 'prn_abc', '10.0.0.1'),
);
const nullable = fc.option(text, { nil: null });
const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));
/** Times from year 1 to 9999, with microseconds. */
const time = fc.record({ ms: fc.integer({ min: -62135596800000, max: 253402300799999 }), micros: fc.integer({ min: 0, max: 999 }) });

const row: fc.Arbitrary<Row> = fc
  .record({
    id: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
    time,
    actorId: text,
    actorKind: text,
    action: text,
    requestId: nullable,
    profileId: nullable,
    sourceIp: nullable,
    details: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
    spaced: fc.boolean(),
    prevHash: fc.option(hex, { nil: null }),
    hash: hex,
  })
  .map((r) => {
    const details = JSON.parse(JSON.stringify(r.details)) as Record<string, unknown>;
    return {
      fields: {
        id: r.id,
        occurredAt: new Date(r.time.ms).toISOString(),
        actor: { id: r.actorId, kind: r.actorKind },
        action: r.action,
        requestId: r.requestId,
        profileId: r.profileId,
        sourceIp: r.sourceIp,
        details,
      },
      occurredAtText: pgTimestamp(r.time.ms, r.time.micros),
      prevHash: r.prevHash,
      hash: r.hash,
      detailsText: JSON.stringify(details, null, r.spaced ? 1 : undefined),
    };
  });

/** A row as COPY writes the columns of EVENT_COPY_COLUMNS. */
function copyLine(r: Row): string {
  const f = r.fields;
  return `${[r.hash, r.prevHash, r.occurredAtText, f.id, f.actor.id, f.actor.kind, f.action, f.requestId, f.profileId, f.sourceIp, r.detailsText].map(copyField).join('\t')}\n`;
}

/** The bytes cut at the given offsets (any of them, inside a row or a character). */
function cut(bytes: Buffer, offsets: number[]): Buffer[] {
  const at = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const o of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, o));
    from = o;
  }
  return chunks;
}

const parse = (chunks: Buffer[]): CopiedEvent[] => {
  const parser = eventCopyParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  parser.end();
  return events;
};

describe('the COPY reader of the verification', () => {
  it('gives every row the canonical JSON of its fields, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (rows, offsets) => {
        const events = parse(cut(Buffer.from(rows.map(copyLine).join(''), 'utf8'), offsets));
        expect(events).toEqual(rows.map((r) => ({ id: r.fields.id, prevHash: r.prevHash, hash: r.hash, canonical: canonicalEvent(r.fields) })));
      }),
      { numRuns: 1_000 },
    );
  });

  it('reads the rows of a real trail: NULLs, escapes, jsonb spacing', () => {
    const line =
      'ab\t\\N\t2026-01-05 08:00:00.12+00\t42\tprn_a\\tb\tperson\trequest.created\t\\N\treq_1\t10.0.0.1\t{"b": "x\\\\"y", "a": [1, 2.50]}\n';
    const [event] = parse([Buffer.from(line)]);
    expect(event).toEqual({
      id: '42',
      prevHash: null,
      hash: 'ab',
      canonical:
        '{"action":"request.created","actor":{"id":"prn_a\\tb","kind":"person"},"details":{"a":[1,2.5],"b":"x\\"y"},"id":"42",' +
        '"occurredAt":"2026-01-05T08:00:00.120Z","profileId":"req_1","requestId":null,"sourceIp":"10.0.0.1"}',
    });
  });

  it('refuses a stream that ends inside a row, or a row without all its fields', () => {
    const parser = eventCopyParser();
    parser.push(Buffer.from('ab\t\\N'));
    expect(() => parser.end()).toThrow(/inside a row/);
    expect(() => eventCopyParser().push(Buffer.from('ab\t\\N\n'))).toThrow(/fields/);
  });
});

describe('isoTime', () => {
  it.each([
    ['2026-01-05 08:00:00+00', '2026-01-05T08:00:00.000Z'],
    ['2026-01-05 08:00:00.5+00', '2026-01-05T08:00:00.500Z'],
    ['2026-01-05 08:00:00.123+00', '2026-01-05T08:00:00.123Z'],
    ['2026-01-05 08:00:00.123999+00', '2026-01-05T08:00:00.123Z'],
    ['2026-01-05 08:00:00.000001+00', '2026-01-05T08:00:00.000Z'],
    ['0001-01-01 00:00:00+00', '0001-01-01T00:00:00.000Z'],
  ])('%s is %s, as to_char gives it', (pg, iso) => {
    expect(isoTime(pg)).toBe(iso);
  });

  it.each(['10000-01-01 00:00:00+00', '0044-03-15 12:00:00+00 BC', 'infinity', '-infinity', '2026-01-05 08:00:00+01'])(
    '%s, never written by Brevet, is left as it is (its hash cannot match)',
    (pg) => {
      expect(isoTime(pg)).toBe(pg);
    },
  );

  it('gives what toISOString gave when the time was written, microseconds cut', () => {
    fc.assert(
      fc.property(time, ({ ms, micros }) => {
        expect(isoTime(pgTimestamp(ms, micros))).toBe(new Date(ms).toISOString());
      }),
    );
  });
});
