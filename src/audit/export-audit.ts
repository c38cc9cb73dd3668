import { and, asc, gt, gte, lte, max, min, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { auditEvents } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { visibleFilters } from './query-audit.js';
import { rowsOf } from './writer.js';
import { auditConditions, type AuditFilters } from './repo.js';
import { auditView } from './view.js';

const BATCH = 5_000;

export type ExportFormat = 'ndjson' | 'csv';

const CSV_COLUMNS = ['id', 'occurredAt', 'actorId', 'actorKind', 'action', 'requestId', 'profileId', 'sourceIp', 'details', 'prevHash', 'hash'];

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Streams the events a caller may read, oldest first, in keyset batches over the id: memory
 * stays flat whatever the size of the trail, and events appended meanwhile do not shift batches.
 */
export async function* exportAudit(deps: { db: Db }, caller: Caller, filters: Omit<AuditFilters, 'requesterId'>, format: ExportFormat): AsyncGenerator<string> {
  const visible = visibleFilters(caller, filters);
  const where = await exportConditions(deps.db, visible);
  if (where === null) {
    if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
    return;
  }
  if (format === 'ndjson') {
    for await (const lines of batches((after) => ndjsonBatch(deps.db, where, after), idOfLine)) {
      yield `${lines.join('\n')}\n`;
    }
    return;
  }
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  const csvBatch = (after: bigint | undefined) =>
    deps.db
      .select()
      .from(auditEvents)
      .where(and(where, after === undefined ? undefined : gt(auditEvents.id, after)))
      .orderBy(asc(auditEvents.id))
      .limit(BATCH);
  for await (const rows of batches(csvBatch, (row) => row.id)) {
    let chunk = '';
    for (const row of rows) {
      const event = auditView(row);
      const cells = [event.id, event.occurredAt, event.actor.id, event.actor.kind, event.action, event.requestId, event.profileId, event.sourceIp, JSON.stringify(event.details), event.prevHash, event.hash];
      chunk += `${cells.map(csvField).join(',')}\r\n`;
    }
    yield chunk;
  }
}

/**
 * Keyset batches of BATCH rows in id order, each asked for as soon as the previous one arrives:
 * PostgreSQL builds the next batch while this process sends the current one. At most two batches
 * are held at a time.
 */
async function* batches<T>(fetch: (after: bigint | undefined) => Promise<T[]>, idOf: (row: T) => bigint): AsyncGenerator<T[]> {
  let pending = fetch(undefined);
  for (;;) {
    const rows = await pending;
    const full = rows.length === BATCH;
    if (full) {
      pending = fetch(idOf(rows.at(-1)!));
      // If the consumer stops before awaiting it, its failure must not surface as unhandled.
      pending.catch(() => {});
    }
    if (rows.length > 0) yield rows;
    if (!full) return;
  }
}

/**
 * The export's conditions, bounded by the ids there were when it started (the export is the trail
 * as it was then, however long it takes); null when nothing can match. With a time range, the
 * bounds are the first and last ids of the events in that range, read once from the
 * (occurred_at, id) index: the batches then walk the id index from the one to the other, instead
 * of from the start of the trail to the range and on from the range to the end of the trail.
 */
async function exportConditions(db: Db, filters: AuditFilters): Promise<SQL | undefined | null> {
  const inRange = filters.from !== undefined || filters.to !== undefined ? auditConditions({ from: filters.from, to: filters.to }) : undefined;
  const [span] = await db
    // With a time range, count(*) keeps PostgreSQL from answering min and max by walking the id index.
    .select({ first: min(auditEvents.id), last: max(auditEvents.id), ...(inRange === undefined ? {} : { n: sql<number>`count(*)`.mapWith(Number) }) })
    .from(auditEvents)
    .where(inRange);
  if (span?.first == null || span.last == null) return null;
  return and(auditConditions(filters), gte(auditEvents.id, span.first), lte(auditEvents.id, span.last));
}

// NDJSON lines built by PostgreSQL itself, in the public event shape (see auditView): the export
// then only concatenates text. Plain concatenation with to_json() for escaping is about twice as
// fast as json_build_object.
const text = (column: AnyColumn) => sql`coalesce(to_json(${column})::text, 'null')`;
const line = sql<string>`'{"id":"' || ${auditEvents.id} || '","occurredAt":"' || to_char(${auditEvents.occurredAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '","actor":{"id":' || ${text(auditEvents.actorId)} || ',"kind":' || ${text(auditEvents.actorKind)}
    || '},"action":' || ${text(auditEvents.action)} || ',"requestId":' || ${text(auditEvents.requestId)}
    || ',"profileId":' || ${text(auditEvents.profileId)} || ',"sourceIp":' || ${text(auditEvents.sourceIp)}
    || ',"details":' || ${auditEvents.details}::text || ',"prevHash":' || ${text(auditEvents.prevHash)} || ',"hash":"' || ${auditEvents.hash} || '"}'`;

async function ndjsonBatch(db: Db, where: SQL | undefined, after: bigint | undefined): Promise<string[]> {
  const conditions = and(where, after === undefined ? undefined : gt(auditEvents.id, after));
  // Raw rows, and the line alone: drizzle's per-row mapping, or even a second column, costs more
  // than building the line does.
  const rows = rowsOf<{ line: string }>(
    await db.execute(
      sql`select ${line} as line from ${auditEvents} ${conditions === undefined ? sql`` : sql`where ${conditions}`} order by ${auditEvents.id} limit ${BATCH}`,
    ),
  );
  return rows.map((row) => row.line);
}

/** The id of an NDJSON line, which starts `{"id":"<digits>"` (see line above). */
const ID_AT = '{"id":"'.length;
function idOfLine(line: string): bigint {
  return BigInt(line.slice(ID_AT, line.indexOf('"', ID_AT)));
}
