// The audit events as PostgreSQL's COPY ... TO STDOUT writes them (text format), turned into what
// a verification needs — id, prevHash, hash and the canonical JSON the hash covers — without
// building each event as an object and canonicalising it field by field: a verification reads
// every event, and at hundreds of thousands of events a second the per-event work is the cost.
import { canonicalDetails } from './jsonb-details.js';
import { canonicalEvent, type TrailEvent } from './proof.js';

/** An event read for verification: canonical is exactly what canonicalEvent gives for its fields. */
export interface CopiedEvent extends TrailEvent {
  canonical: string;
}

/**
 * The columns, in the order parseRows reads them: from id to source_ip, the fields that go into
 * the canonical JSON as JSON strings, side by side, so that one test tells whether any needs
 * escaping; details last.
 */
export const EVENT_COPY_COLUMNS = 'hash, prev_hash, occurred_at, id, actor_id, actor_kind, action, request_id, profile_id, source_ip, details';
const ID = 3;

/** The statements that make occurred_at's text what parseEventCopy expects, for the transaction only. */
export const EVENT_COPY_SESSION = "set local timezone = 'UTC'; set local datestyle = 'ISO, YMD'";

const FIELDS = 11;

/**
 * A parser fed the COPY stream's chunks in order (they may cut a row, or a character, anywhere):
 * `push` gives back the events of the rows a chunk completes, `end` checks nothing was left cut.
 */
export function eventCopyParser(): { push(chunk: Buffer): CopiedEvent[]; end(): void } {
  let rest: Buffer | undefined;
  return {
    push(chunk) {
      const data = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
      // Rows end with a newline byte, which never occurs inside a UTF-8 character: decoding up
      // to the last one never cuts a character.
      const end = data.lastIndexOf(0x0a);
      if (end === -1) {
        rest = data.length === 0 ? undefined : data;
        return [];
      }
      rest = end + 1 === data.length ? undefined : data.subarray(end + 1);
      return parseRows(data.toString('utf8', 0, end + 1));
    },
    end() {
      if (rest !== undefined) throw new Error('the audit event stream ended inside a row');
    },
  };
}

/** The events of whole rows (each ending with a newline). */
export function parseRows(text: string): CopiedEvent[] {
  const events: CopiedEvent[] = [];
  const fields: (string | null)[] = new Array<string | null>(FIELDS);
  // COPY writes a backslash only to escape (see unescape): fields before the next one are taken as they are.
  let backslash = text.indexOf('\\');
  let start = 0;
  while (start < text.length) {
    const lineEnd = text.indexOf('\n', start);
    if (lineEnd === -1) throw new Error('the audit event stream has a row without its end');
    let from = start;
    let idStart = start;
    let detailsStart = start;
    let escaped = false;
    for (let i = 0; i < FIELDS; i++) {
      const to = i === FIELDS - 1 ? lineEnd : text.indexOf('\t', from);
      if (to === -1 || to > lineEnd) throw new Error(`an audit event row has ${i + 1} fields, not ${FIELDS}`);
      if (backslash !== -1 && backslash < from) backslash = text.indexOf('\\', from);
      if (i === ID) idStart = from;
      else if (i === FIELDS - 1) detailsStart = from;
      const raw = text.slice(from, to);
      if (backslash === -1 || backslash >= to) fields[i] = raw;
      else if (raw === '\\N') fields[i] = null;
      else {
        fields[i] = unescape(raw);
        escaped ||= i >= ID && i < FIELDS - 1;
      }
      from = to + 1;
    }
    // The fields from id to source_ip go into the canonical JSON as JSON strings as they are when
    // none was escaped by COPY nor holds a character that JSON escapes (or a lone surrogate,
    // which JSON.stringify escapes too). The \N of a NULL is no such character.
    AS_IS.lastIndex = idStart;
    const plain = !escaped && AS_IS.test(text) && AS_IS.lastIndex >= detailsStart;
    events.push(eventOf(fields, plain));
    start = lineEnd + 1;
  }
  return events;
}

/**
 * From where it starts, the characters JSON.stringify writes as they are, and a tab (COPY's
 * delimiter) and backslash (escaped fields are told apart before): matched from the id on, it
 * reaches the details unless a field holds a character to escape. Sticky, so it reads only this row.
 */
const AS_IS = /[^"\u0000-\u0008\u000a-\u001f\ud800-\udfff]*/y;

function eventOf(f: readonly (string | null)[], plain: boolean): CopiedEvent {
  const [hash, prevHash, occurredAt, id, actorId, actorKind, action, requestId, profileId, sourceIp, details] = f;
  const str = plain ? (value: string | null) => (value === null ? 'null' : `"${value}"`) : jsonString;
  const iso = isoTime(occurredAt!);
  const canonical =
    `{"action":${str(action!)},"actor":{"id":${str(actorId!)},"kind":${str(actorKind!)}},"details":${canonicalDetails(details!)},` +
    `"id":${str(id!)},"occurredAt":${iso === occurredAt ? jsonString(iso) : `"${iso}"`},"profileId":${str(profileId!)},"requestId":${str(requestId!)},"sourceIp":${str(sourceIp!)}}`;
  return { id: id!, prevHash: prevHash ?? null, hash: hash!, canonical };
}

const jsonString = (value: string | null) => (value === null ? 'null' : JSON.stringify(value));

const TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?\+00$/;

/**
 * occurred_at as the API gives it (milliseconds, Z), from timestamptz's ISO text in UTC
 * ("2026-01-05 08:00:00.12+00"): what to_char(occurred_at at time zone 'UTC',
 * 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') gives, microseconds cut as it cuts them. Any other shape (a
 * year past 9999, BC, infinity: never written by Brevet) is left as it is, so its hash does not match.
 */
export function isoTime(text: string | null): string | null {
  if (text === null || !TIMESTAMP.test(text)) return text;
  const fraction = text.length > 22 ? text.slice(20, text.length - 3) : '';
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${fraction.length >= 3 ? fraction.slice(0, 3) : fraction.padEnd(3, '0')}Z`;
}

const UNESCAPED: Record<string, string> = { '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** COPY's text escapes undone: it writes a backslash, a tab, a newline… as \\, \t, \n (and NULL as \N, taken before). */
function unescape(raw: string): string {
  return raw.replace(/\\([\\bfnrtv])/g, (_match, c: string) => UNESCAPED[c]!);
}

/** The canonical JSON the general way, from the fields as parseRows reads them (tests hold the two equal). */
export function canonicalOfFields(f: readonly (string | null)[]): string {
  const [, , occurredAt, id, actorId, actorKind, action, requestId, profileId, sourceIp, details] = f;
  return canonicalEvent({
    id: id!,
    occurredAt: isoTime(occurredAt!)!,
    actor: { id: actorId!, kind: actorKind! },
    action: action!,
    requestId: requestId!,
    profileId: profileId!,
    sourceIp: sourceIp!,
    details: JSON.parse(details!),
  });
}
