// Shared helpers for the audit-trail acceptance tests (SPEC §6): the real app on its own
// database, driven over HTTP, with the database read (and, for tamper tests, written) directly.
import { asc } from 'drizzle-orm';
import pg from 'pg';
import { expect } from 'vitest';
import { eventHash, type ProofBlock, type TrailReport } from '../../src/audit/proof.js';
import { createSealer } from '../../src/audit/sealer.js';
import { blockView } from '../../src/audit/checkpoints.js';
import { auditView } from '../../src/audit/view.js';
import { auditBlocks, auditEvents } from '../../src/db/schema.js';
import { auth } from '../support/api.js';
import { startTestApp, type TestApp } from '../support/app.js';

export { auth, createProfile, ROLE_ARN, uniqueName } from '../support/api.js';



/** An event in its public shape, as GET /v1/audit returns it. */
export type AuditEvent = ReturnType<typeof auditView>;

export type Principal = { id: string; key: string; email: string | null };

/**
 * The real app, listening on loopback. supertest would otherwise start and stop the server
 * around each call, which breaks calls fired concurrently.
 */
export async function startAuditApp(options: Parameters<typeof startTestApp>[0] = {}): Promise<TestApp> {
  const t = await startTestApp(options);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return t;
}

/** Opens a request and expects it to be created. */
export async function openRequest(
  t: TestApp,
  key: string,
  profile: string,
  justification = 'INC-42 hotfix on the payments API',
): Promise<{ id: string; status: string }> {
  const response = await t.http().post('/v1/requests').set(auth(key)).send({ profile, durationSeconds: 1800, justification });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as { id: string; status: string };
}

export async function reviewRequest(t: TestApp, key: string, requestId: string, decision: 'approve' | 'deny'): Promise<void> {
  const response = await t.http().post(`/v1/requests/${requestId}/reviews`).set(auth(key)).send({ decision });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

export async function cancelRequest(t: TestApp, key: string, requestId: string): Promise<void> {
  const response = await t.http().post(`/v1/requests/${requestId}/cancel`).set(auth(key)).send({});
  expect(response.status, JSON.stringify(response.body)).toBe(200);
}

export type Query = Record<string, string | number>;

/** One page of GET /v1/audit, expected to succeed. */
export async function auditPage(t: TestApp, key: string, query: Query = {}): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
  const response = await t.http().get('/v1/audit').query(query).set(auth(key));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { items: AuditEvent[]; nextCursor: string | null };
}

/** Every event GET /v1/audit returns for `query`, following nextCursor to the end. */
export async function auditAll(t: TestApp, key: string, query: Query = {}, limit = 500): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let cursor: string | null = null;
  do {
    const page = await auditPage(t, key, { ...query, limit, ...(cursor === null ? {} : { cursor }) });
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return events;
}

/** The whole trail straight from the table, oldest first, in the public shape. */
export async function trailFromDatabase(t: TestApp): Promise<AuditEvent[]> {
  const rows = await t.deps.db.select().from(auditEvents).orderBy(asc(auditEvents.id));
  return rows.map(auditView);
}

export async function verify(t: TestApp, key: string): Promise<TrailReport> {
  const response = await t.http().get('/v1/audit/verify').set(auth(key));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as TrailReport;
}

export function expectProblem(response: { status: number; headers: Record<string, string>; body: unknown }, status: number, type: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type, status });
}

/** Runs `work` on a connection of its own as the database superuser (the tests' PostgreSQL role). */
export async function asSuperuser<T>(t: TestApp, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface RawEvent {
  occurredAt: Date;
  actor: { id: string; kind: 'person' | 'service' | 'system' | 'slack' };
  action: string;
  requestId?: string | null;
  profileId?: string | null;
  sourceIp?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Appends an event with SQL as the app writes it (transaction id first, then an id from the
 * sequence, its own hash), for tests that need events at chosen times.
 */
export async function appendEvent(t: TestApp, event: RawEvent): Promise<AuditEvent> {
  return asSuperuser(t, async (client) => {
    await client.query('begin');
    try {
      const { rows } = await client.query<{ id: string }>(
          `with xact as materialized (select pg_current_xact_id()) select nextval('audit_events_id_seq')::text as id from xact`,
      );
      const fields = {
        id: rows[0]!.id,
        occurredAt: event.occurredAt.toISOString(),
        actor: event.actor,
        action: event.action,
        requestId: event.requestId ?? null,
        profileId: event.profileId ?? null,
        sourceIp: event.sourceIp ?? null,
        details: event.details ?? {},
      };
      const written = { ...fields, prevHash: null, hash: eventHash(fields) };
      await insertRow(client, written);
      await client.query('commit');
      return written;
    } catch (error) {
      await client.query('rollback');
      throw error;
    }
  });
}

/** Inserts a row as given, hash and all: the tool of a forger (and of appendEvent). */
export async function insertRow(client: pg.Client, event: AuditEvent): Promise<void> {
  await client.query(
    `insert into audit_events (id, occurred_at, actor_id, actor_kind, action, request_id, profile_id, source_ip, details, prev_hash, hash, xid)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, pg_current_xact_id())`,
    [
      event.id,
      event.occurredAt,
      event.actor.id,
      event.actor.kind,
      event.action,
      event.requestId,
      event.profileId,
      event.sourceIp,
      JSON.stringify(event.details),
      event.prevHash,
      event.hash,
    ],
  );
}

/** Seals every committed event with the app's own sealer (its key, its clock); the blocks sealed. */
export async function sealAll(t: TestApp): Promise<ProofBlock[]> {
  return createSealer({ db: t.deps.db, clock: t.deps.clock, signer: t.deps.auditSigner }).catchUp();
}

/** Every block, in seq order, straight from the table. */
export async function blocksFromDatabase(t: TestApp): Promise<ProofBlock[]> {
  return (await t.deps.db.select().from(auditBlocks).orderBy(asc(auditBlocks.seq))).map(blockView);
}
