import type { Clock } from '../adapters/clock.js';
import type { Db, Tx } from '../db/client.js';
import { runStatement, type Statement } from '../db/statement.js';
import { canonicalJson } from './proof.js';

export type AuditActorKind = 'person' | 'service' | 'system' | 'slack';

export interface AuditActor {
  id: string;
  kind: AuditActorKind;
}

export const systemActor: AuditActor = { id: 'system', kind: 'system' };

export interface AuditEntry {
  actor: AuditActor;
  action: string;
  requestId?: string | null;
  profileId?: string | null;
  sourceIp?: string | null;
  /** Facts about the event. Never a secret: callers pass ids and metadata only. */
  details?: Record<string, unknown>;
}

/**
 * Appends one event inside the caller's transaction, so the event commits with the change it
 * records or not at all (fail closed); given the database, the event alone (e.g. a refusal). The event carries its own hash (SPEC §11) and takes no
 * lock: writers never wait for one another. The sealer (audit/sealer.ts) later seals committed
 * events, in id order, into signed blocks. One statement: see AUDIT_INSERT.
 */
export async function appendAudit(tx: Tx | Db, clock: Clock, entry: AuditEntry): Promise<void> {
  await appendAudits(tx, clock, [entry]);
}

/** Appends events, in this order, in one statement however many they are (see appendAudit). */
export async function appendAudits(tx: Tx | Db, clock: Clock, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await runStatement(tx, APPEND_AUDIT, [auditEventsJson(entries, clock)]);
}

/** Where AUDIT_INSERT takes its one parameter, the events as JSON (see auditEventsJson). */
const EVENTS_PARAM = '$EVENTS';

/**
 * The statement part that appends events, in one round trip: `with` clauses to which a caller may
 * add its own data-modifying ones (`, name as (insert …)`), then the INSERT. The transaction's id is
 * assigned first (the materialized `xact`) and each event's id is drawn after it, in the events'
 * order; the row keeps that transaction id (column default). A transaction that holds an event id
 * is then always in the snapshots the sealer takes its boundary from (see sealer.ts).
 *
 * Each event's hash is sha256 of its canonical JSON (SPEC §11, audit/proof.ts), which contains
 * the id: Node writes the canonical JSON around the id (prefix, suffix) and PostgreSQL hashes
 * prefix ‖ id ‖ suffix once it has drawn the id, so no round trip is spent on drawing it first.
 */
export const AUDIT_WITH = `xact as materialized (select pg_current_xact_id()),
  drawn as materialized (
    select nextval('audit_events_id_seq') as id, x.e from xact, jsonb_array_elements(${EVENTS_PARAM}::jsonb) with ordinality as x(e, n) order by x.n
  )`;
export const AUDIT_INSERT = `insert into audit_events (id, occurred_at, actor_id, actor_kind, action, request_id, profile_id, source_ip, details, hash)
  select id, (e->>'occurredAt')::timestamptz, e->>'actorId', e->>'actorKind', e->>'action', e->>'requestId', e->>'profileId', e->>'sourceIp', e->'details',
    encode(sha256(convert_to((e->>'prefix') || id::text || (e->>'suffix'), 'UTF8')), 'hex')
  from drawn`;

/**
 * AUDIT_WITH and AUDIT_INSERT as one SQL text, the events taken from parameter `param` (`$n`);
 * with `onlyWhen` (an SQL condition), the events are inserted only when it holds; `returning` ends
 * the INSERT (the caller learns from its rows whether anything was written).
 */
export function auditStatementText(param: string, moreWith = '', onlyWhen = '', returning = ''): string {
  return `with ${AUDIT_WITH.replace(EVENTS_PARAM, param)}${moreWith === '' ? '' : `,\n  ${moreWith}`}\n${AUDIT_INSERT}${onlyWhen === '' ? '' : `\n  where ${onlyWhen}`}${returning === '' ? '' : `\n  returning ${returning}`}`;
}

const APPEND_AUDIT: Statement = { name: 'append_audit', text: auditStatementText('$1') };

/**
 * The events as AUDIT_INSERT takes them: one JSON array, each event its columns plus its canonical
 * JSON split where the id goes. The id is written as a JSON string, so an event built with the
 * empty id has `"id":""` where the real one goes; the last such text is the event's own `id`
 * key (only occurredAt, profileId, requestId and sourceIp follow it, and their values, being
 * JSON strings, cannot hold an unescaped quote).
 */
export function auditEventsJson(entries: readonly AuditEntry[], clock: Clock): string {
  return JSON.stringify(
    entries.map((entry) => {
      const occurredAt = clock.now().toISOString();
      const fields = {
        id: '',
        occurredAt,
        actor: { id: entry.actor.id, kind: entry.actor.kind },
        action: entry.action,
        requestId: entry.requestId ?? null,
        profileId: entry.profileId ?? null,
        sourceIp: entry.sourceIp ?? null,
        details: entry.details ?? {},
      };
      const canonical = canonicalJson(fields);
      const at = canonical.lastIndexOf(ID_SLOT) + ID_SLOT.length - 1;
      return {
        occurredAt,
        actorId: fields.actor.id,
        actorKind: fields.actor.kind,
        action: fields.action,
        requestId: fields.requestId,
        profileId: fields.profileId,
        sourceIp: fields.sourceIp,
        details: fields.details,
        prefix: canonical.slice(0, at),
        suffix: canonical.slice(at),
      };
    }),
  );
}
const ID_SLOT = '"id":""';

/** node-postgres returns `{ rows }`, PGlite returns `{ rows }` too, but typed apart. */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}
