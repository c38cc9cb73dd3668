// SPEC §6: GET /v1/audit/export?format=ndjson|csv streams what GET /v1/audit returns, oldest
// first, with the same filters and the same visibility. NDJSON lines parse to exactly the API's
// events; CSV (RFC 4180, with a header) round-trips through a standard parser, awkward text and
// all. Both come as attachments.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import {
  auditAll,
  auth,
  createProfile,
  expectProblem,
  openRequest,
  reviewRequest,
  startAuditApp,
  trailFromDatabase,
  type AuditEvent,
  type Principal,
  type Query,
} from './helpers.js';

const CSV_HEADER = ['id', 'occurredAt', 'actorId', 'actorKind', 'action', 'requestId', 'profileId', 'sourceIp', 'details', 'prevHash', 'hash'];
/** Commas, double quotes, line breaks (LF and CRLF), a tab, non-ASCII and an emoji: what breaks naive CSV. */
const AWKWARD = 'a, "quoted"\nnew line ☕';
const AWKWARDER = 'Zürich, "ops"\r\n\ttabbed line, ends with a quote"';

let t: TestApp;
let alice: Principal;
let bob: Principal;
let sre: Principal;
let profile: { id: string; name: string };
let awkward: { id: string };
let awkwarder: { id: string };
let bobs: { id: string };

beforeAll(async () => {
  t = await startAuditApp();
  profile = await createProfile(t);
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['dev'] });
  sre = await t.principal({ groups: ['sre'] });
  awkward = await openRequest(t, alice.key, profile.name, AWKWARD);
  awkwarder = await openRequest(t, alice.key, profile.name, AWKWARDER);
  bobs = await openRequest(t, bob.key, profile.name);
  await reviewRequest(t, sre.key, awkward.id, 'approve');
  await reviewRequest(t, sre.key, bobs.id, 'deny');
});
afterAll(async () => {
  await t?.close();
});

async function exportAs(key: string, query: Query) {
  const response = await t.http().get('/v1/audit/export').query(query).set(auth(key));
  expect(response.status, response.text).toBe(200);
  return response;
}

async function ndjson(key: string, query: Query = {}): Promise<unknown[]> {
  const response = await exportAs(key, { ...query, format: 'ndjson' });
  if (response.text === '') return [];
  expect(response.text.endsWith('\n')).toBe(true);
  return response.text.slice(0, -1).split('\n').map((line) => JSON.parse(line) as unknown);
}

async function csvRecords(key: string, query: Query = {}): Promise<string[][]> {
  const response = await exportAs(key, { ...query, format: 'csv' });
  const records = parse(response.text, { relax_column_count: false }) as string[][];
  expect(records[0]).toEqual(CSV_HEADER);
  return records.slice(1);
}

/** An event as its CSV record: nulls are empty cells, details a JSON string. */
function asRecord(event: AuditEvent): string[] {
  return [
    event.id,
    event.occurredAt,
    event.actor.id,
    event.actor.kind,
    event.action,
    event.requestId ?? '',
    event.profileId ?? '',
    event.sourceIp ?? '',
    JSON.stringify(event.details),
    event.prevHash ?? '',
    event.hash,
  ];
}

/** The inverse of asRecord, parsing details back, for a deep comparison with the API's event. */
function fromRecord(record: string[]): AuditEvent {
  const [id, occurredAt, actorId, actorKind, action, requestId, profileId, sourceIp, details, prevHash, hash] = record as [
    string, string, string, string, string, string, string, string, string, string, string,
  ];
  const orNull = (cell: string) => (cell === '' ? null : cell);
  return {
    id,
    occurredAt,
    actor: { id: actorId, kind: actorKind as AuditEvent['actor']['kind'] },
    action,
    requestId: orNull(requestId),
    profileId: orNull(profileId),
    sourceIp: orNull(sourceIp),
    details: JSON.parse(details) as Record<string, unknown>,
    prevHash: orNull(prevHash),
    hash,
  };
}

describe('ndjson', () => {
  it('has one line per event that parses to exactly what GET /v1/audit returns', async () => {
    const api = await auditAll(t, t.adminKey, { order: 'asc' });
    expect(api).toHaveLength((await trailFromDatabase(t)).length);
    const lines = await ndjson(t.adminKey);
    expect(lines).toHaveLength(api.length);
    for (const [index, line] of lines.entries()) {
      expect(line).toStrictEqual(api[index]);
      expect(Object.keys(line as object).sort()).toEqual(Object.keys(api[index]!).sort());
    }
  });

  it('carries the awkward justification unchanged', async () => {
    const lines = (await ndjson(t.adminKey, { requestId: awkward.id, action: 'request.created' })) as AuditEvent[];
    expect(lines).toHaveLength(1);
    expect(lines[0]!.details['justification']).toBe(AWKWARD);
  });

  it('is an attachment with an .ndjson file name, not cached', async () => {
    const response = await exportAs(t.adminKey, { format: 'ndjson' });
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="[\w.-]+\.ndjson"$/);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('is the default format', async () => {
    const response = await exportAs(t.adminKey, {});
    expect(response.headers['content-disposition']).toMatch(/\.ndjson"$/);
    expect(response.text.split('\n').filter((l) => l !== '').length).toBeGreaterThan(0);
  });
});

describe('csv', () => {
  it('has a header and round-trips through csv-parse to exactly what GET /v1/audit returns', async () => {
    const api = await auditAll(t, t.adminKey, { order: 'asc' });
    const records = await csvRecords(t.adminKey);
    expect(records).toEqual(api.map(asRecord));
    expect(records.map(fromRecord)).toStrictEqual(api);
  });

  it('keeps commas, double quotes, line breaks, tabs and emoji inside a field', async () => {
    for (const [request, justification] of [
      [awkward, AWKWARD],
      [awkwarder, AWKWARDER],
    ] as const) {
      const records = await csvRecords(t.adminKey, { requestId: request.id, action: 'request.created' });
      expect(records).toHaveLength(1);
      expect(records[0]).toHaveLength(CSV_HEADER.length);
      expect(JSON.parse(records[0]![8]!).justification).toBe(justification);
    }
  });

  it('parses the same with columns keyed by the header', async () => {
    const response = await exportAs(t.adminKey, { format: 'csv', requestId: awkward.id });
    const rows = parse(response.text, { columns: true }) as Record<string, string>[];
    const api = await auditAll(t, t.adminKey, { requestId: awkward.id, order: 'asc' });
    expect(rows.map((row) => row['hash'])).toEqual(api.map((e) => e.hash));
    expect(rows.every((row) => Object.keys(row).join(',') === CSV_HEADER.join(','))).toBe(true);
  });

  it('is an attachment with a .csv file name, not cached', async () => {
    const response = await exportAs(t.adminKey, { format: 'csv' });
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="[\w.-]+\.csv"$/);
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('filters and visibility', () => {
  const queries: [string, () => Query][] = [
    ['requestId', () => ({ requestId: awkward.id })],
    ['actor', () => ({ actor: sre.id })],
    ['action', () => ({ action: 'request.created' })],
    ['profileId', () => ({ profileId: profile.id })],
    ['actor + action', () => ({ actor: alice.id, action: 'request.created' })],
    ['from', () => ({ from: new Date(Date.now() - 86_400_000).toISOString() })],
    ['to (nothing before 2000)', () => ({ to: '2000-01-01T00:00:00Z' })],
  ];

  it.each(queries)('%s filters the export exactly as it filters the query', async (_name, build) => {
    const query = build();
    const api = await auditAll(t, t.adminKey, { ...query, order: 'asc' });
    expect(await ndjson(t.adminKey, query)).toStrictEqual(api);
    expect((await csvRecords(t.adminKey, query)).map(fromRecord)).toStrictEqual(api);
  });

  it('gives a requester only the events of their own requests', async () => {
    const trail = await trailFromDatabase(t);
    const mine = trail.filter((e) => e.requestId === awkward.id || e.requestId === awkwarder.id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(trail.length);
    expect(await ndjson(alice.key)).toStrictEqual(mine);
    expect((await csvRecords(alice.key)).map(fromRecord)).toStrictEqual(mine);
    // Filters cannot widen it: another's request, or another's actions, give nothing.
    expect(await ndjson(alice.key, { requestId: bobs.id })).toEqual([]);
    expect(await csvRecords(alice.key, { actor: bob.id })).toEqual([]);
    // The approver's events on Alice's request are part of her request's story.
    expect(await ndjson(alice.key, { actor: sre.id })).toStrictEqual(mine.filter((e) => e.actor.id === sre.id));
  });

  it('gives a principal with no requests an empty export with its header', async () => {
    const nobody = await t.principal({ groups: ['dev'] });
    const nd = await exportAs(nobody.key, { format: 'ndjson' });
    expect(nd.text).toBe('');
    const csv = await exportAs(nobody.key, { format: 'csv' });
    expect(parse(csv.text)).toEqual([CSV_HEADER]);
  });

  it('refuses bad input with a 400 and no body streamed', async () => {
    for (const query of [{ format: 'xml' }, { format: 'csv', limit: 5 }, { format: 'csv', from: 'soon' }]) {
      const response = await t.http().get('/v1/audit/export').query(query).set(auth(t.adminKey));
      expectProblem(response, 400, 'validation');
      expect(response.headers['content-disposition']).toBeUndefined();
    }
  });
});
