// SPEC §6, §7: GET /v1/audit filters (actor, action, requestId, profileId, from, to) alone and
// combined, oldest first (id order) unless order=desc, keyset pagination with limit ≤ 500, bad input → 400.
// The trail is built through the API at chosen clock times, plus events appended with SQL at
// times the API cannot produce (out of id order, on a range boundary); the expected answer of
// every query is computed from the table itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import {
  appendEvent,
  auditAll,
  auditPage,
  auth,
  cancelRequest,
  createProfile,
  expectProblem,
  openRequest,
  reviewRequest,
  startAuditApp,
  trailFromDatabase,
  verify,
  type AuditEvent,
  type Principal,
  type Query,
} from './helpers.js';

let t: TestApp;
let trail: AuditEvent[];
const base = new Date('2031-05-01T08:00:00.000Z');
const at = (hours: number) => new Date(base.getTime() + hours * 3_600_000);
let alice: Principal;
let bob: Principal;
let sre: Principal;
let profileA: { id: string; name: string };
let profileB: { id: string; name: string };
const requests: Record<'r1' | 'r2' | 'r3' | 'r4', string> = { r1: '', r2: '', r3: '', r4: '' };
const raw: Record<'reminder' | 'ancient' | 'boundary', AuditEvent | undefined> = { reminder: undefined, ancient: undefined, boundary: undefined };

beforeAll(async () => {
  t = await startAuditApp();
  t.clock.set(base);
  profileA = await createProfile(t);
  profileB = await createProfile(t);
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['dev'] });
  sre = await t.principal({ groups: ['sre'] });

  t.clock.set(at(1));
  requests.r1 = (await openRequest(t, alice.key, profileA.name)).id;
  requests.r2 = (await openRequest(t, bob.key, profileB.name)).id;

  t.clock.set(at(2));
  await reviewRequest(t, sre.key, requests.r1, 'approve');
  await reviewRequest(t, sre.key, requests.r2, 'deny');

  t.clock.set(at(3));
  requests.r3 = (await openRequest(t, alice.key, profileB.name)).id;
  await cancelRequest(t, alice.key, requests.r3);

  // Appended after the API events above, but dated between or before them: id order and time
  // order differ, so a filter on time that looked at ids would be caught.
  raw.reminder = await appendEvent(t, {
    occurredAt: at(1.5),
    actor: { id: 'system', kind: 'system' },
    action: 'request.reminded',
    requestId: requests.r2,
    profileId: profileB.id,
    details: { approvers: [sre.id] },
  });
  raw.ancient = await appendEvent(t, {
    occurredAt: new Date('2001-09-09T01:46:40.000Z'),
    actor: { id: 'legacy-import', kind: 'system' },
    action: 'profile.updated',
    profileId: profileA.id,
    details: { note: 'imported' },
  });
  raw.boundary = await appendEvent(t, {
    occurredAt: at(2),
    actor: { id: alice.id, kind: 'person' },
    action: 'request.reminded',
    requestId: requests.r1,
    profileId: profileA.id,
    sourceIp: '10.0.0.7',
    details: {},
  });

  t.clock.set(at(4));
  requests.r4 = (await openRequest(t, bob.key, profileA.name)).id;
  await reviewRequest(t, sre.key, requests.r4, 'approve');

  trail = await trailFromDatabase(t);
});
afterAll(async () => {
  await t?.close();
});

/** What a query should return, from the table: every filter is an exact match, time is [from, to). */
function expected(query: Query, order: 'asc' | 'desc' = 'asc'): AuditEvent[] {
  const matches = trail.filter(
    (e) =>
      (query['actor'] === undefined || e.actor.id === query['actor']) &&
      (query['action'] === undefined || e.action === query['action']) &&
      (query['requestId'] === undefined || e.requestId === query['requestId']) &&
      (query['profileId'] === undefined || e.profileId === query['profileId']) &&
      (query['from'] === undefined || Date.parse(e.occurredAt) >= Date.parse(String(query['from']))) &&
      (query['to'] === undefined || Date.parse(e.occurredAt) < Date.parse(String(query['to']))),
  );
  return order === 'asc' ? matches : [...matches].reverse();
}

const ids = (events: AuditEvent[]) => events.map((e) => e.id);

describe('filters', () => {
  // Each case must match something and leave something out, or it would prove nothing.
  const cases: [string, () => Query][] = [
    ['actor (a person)', () => ({ actor: alice.id })],
    ['actor (an approver)', () => ({ actor: sre.id })],
    ['actor (system)', () => ({ actor: 'system' })],
    ['action', () => ({ action: 'request.created' })],
    ['action (review.denied)', () => ({ action: 'review.denied' })],
    ['requestId', () => ({ requestId: requests.r1 })],
    ['requestId (with an SQL-appended event)', () => ({ requestId: requests.r2 })],
    ['profileId', () => ({ profileId: profileA.id })],
    ['from', () => ({ from: at(2).toISOString() })],
    ['to', () => ({ to: at(2).toISOString() })],
    ['from and to', () => ({ from: at(1).toISOString(), to: at(3).toISOString() })],
    ['actor + action', () => ({ actor: alice.id, action: 'request.created' })],
    ['requestId + action', () => ({ requestId: requests.r1, action: 'review.approved' })],
    ['profileId + actor + from', () => ({ profileId: profileB.id, actor: alice.id, from: at(3).toISOString() })],
    ['profileId + to', () => ({ profileId: profileA.id, to: at(1).toISOString() })],
    [
      'all six',
      () => ({ actor: sre.id, action: 'review.approved', requestId: requests.r4, profileId: profileA.id, from: at(4).toISOString(), to: at(5).toISOString() }),
    ],
  ];

  it.each(cases)('%s returns exactly the matching events, oldest first', async (_name, build) => {
    const query = build();
    const want = expected(query);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(trail.length);
    const page = await auditPage(t, t.adminKey, { ...query, limit: 500 });
    expect(page.items).toStrictEqual(want);
    expect(page.nextCursor).toBeNull();
    expect(ids(await auditAll(t, t.adminKey, { ...query, order: 'desc' }, 2))).toEqual(ids(expected(query, 'desc')));
  });

  it('knows the trail it is checked against', async () => {
    // Hand-checked facts, so the oracle above cannot agree with the API by being wrong the same way.
    const created = await auditPage(t, t.adminKey, { actor: alice.id, action: 'request.created' });
    expect(created.items.map((e) => e.requestId)).toEqual([requests.r1, requests.r3]);
    const r1 = await auditPage(t, t.adminKey, { requestId: requests.r1 });
    expect(r1.items.map((e) => e.action)).toEqual(['request.created', 'review.approved', 'request.approved', 'request.activated', 'request.reminded']);
    expect(r1.items.at(-1)!.id).toBe(raw.boundary!.id);
    const r2 = await auditPage(t, t.adminKey, { requestId: requests.r2 });
    expect(ids(r2.items)).toContain(raw.reminder!.id);
    expect(r2.items.every((e) => e.requestId === requests.r2)).toBe(true);
  });

  it('treats from as inclusive and to as exclusive, on occurredAt rather than id', async () => {
    const boundary = raw.boundary!;
    const from = await auditAll(t, t.adminKey, { from: at(2).toISOString() });
    expect(ids(from)).toContain(boundary.id);
    const to = await auditAll(t, t.adminKey, { to: at(2).toISOString() });
    expect(ids(to)).not.toContain(boundary.id);
    // The reminder was appended late but dated 09:30: it belongs to [09:00, 10:00) only.
    const window = await auditAll(t, t.adminKey, { from: at(1).toISOString(), to: at(2).toISOString() });
    expect(ids(window)).toContain(raw.reminder!.id);
    expect(window.every((e) => e.occurredAt >= at(1).toISOString() && e.occurredAt < at(2).toISOString())).toBe(true);
    const old = await auditAll(t, t.adminKey, { to: '2002-01-01T00:00:00Z' });
    expect(ids(old)).toEqual([raw.ancient!.id]);
  });

  it('accepts time zone offsets in from and to', async () => {
    // 10:00+02:00 is 08:00Z: the same instant as base.
    const shifted = await auditAll(t, t.adminKey, { from: '2031-05-01T10:00:00+02:00', to: at(1).toISOString() });
    expect(ids(shifted)).toEqual(ids(expected({ from: base.toISOString(), to: at(1).toISOString() })));
    expect(shifted.length).toBeGreaterThan(0);
  });

  it('returns an empty page when nothing matches', async () => {
    expect(await auditPage(t, t.adminKey, { actor: 'prn_nobody' })).toEqual({ items: [], nextCursor: null });
    expect(await auditPage(t, t.adminKey, { requestId: requests.r1, action: 'review.denied' })).toEqual({ items: [], nextCursor: null });
    expect(await auditPage(t, t.adminKey, { from: at(10).toISOString() })).toEqual({ items: [], nextCursor: null });
  });

  it('leaves the trail valid (the SQL-appended events are hashed as the app hashes them)', async () => {
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, checked: trail.length, firstBrokenId: null, unsealed: trail.length });
  });
});

describe('order and pagination', () => {
  it('is oldest first (id order, as SPEC §7.1 shows a trail) by default and newest first with order=desc', async () => {
    const oldestByDefault = await auditPage(t, t.adminKey, { limit: 500 });
    expect(oldestByDefault.items).toStrictEqual(trail);
    const newest = await auditPage(t, t.adminKey, { limit: 500, order: 'desc' });
    expect(newest.items).toStrictEqual([...trail].reverse());
    const oldest = await auditPage(t, t.adminKey, { limit: 500, order: 'asc' });
    expect(oldest.items).toStrictEqual(trail);
    const desc = await auditPage(t, t.adminKey, { order: 'desc', limit: 500 });
    expect(desc.items).toStrictEqual(newest.items);
  });

  it('pages with nextCursor, in both orders, every event exactly once', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const pages: AuditEvent[][] = [];
      let cursor: string | null = null;
      do {
        const page = await auditPage(t, t.adminKey, { order, limit: 4, ...(cursor === null ? {} : { cursor }) });
        expect(page.items.length).toBeLessThanOrEqual(4);
        pages.push(page.items);
        cursor = page.nextCursor;
        if (cursor !== null) expect(cursor).toBe(page.items.at(-1)!.id);
      } while (cursor !== null);
      const all = pages.flat();
      expect(ids(all)).toEqual(ids(order === 'asc' ? trail : [...trail].reverse()));
      expect(pages.slice(0, -1).every((p) => p.length === 4)).toBe(true);
    }
  });

  it('gives no cursor when the last page is exactly full', async () => {
    const page = await auditPage(t, t.adminKey, { limit: trail.length });
    expect(page.items).toHaveLength(trail.length);
    expect(page.nextCursor).toBeNull();
  });

  it('pages within a filter', async () => {
    const query = { profileId: profileA.id };
    expect(ids(await auditAll(t, t.adminKey, query, 1))).toEqual(ids(expected(query)));
  });

  it('defaults to at most 100 events and accepts limit=500', async () => {
    expect((await auditPage(t, t.adminKey)).items.length).toBe(Math.min(100, trail.length));
    expect((await auditPage(t, t.adminKey, { limit: 500 })).items).toHaveLength(trail.length);
    expect((await auditPage(t, t.adminKey, { limit: 1 })).items).toHaveLength(1);
  });
});

describe('bad input is a 400 naming the field', () => {
  const bad: [string, Query, string][] = [
    ['limit above 500', { limit: 501 }, 'limit'],
    ['limit 0', { limit: 0 }, 'limit'],
    ['limit not a number', { limit: 'many' }, 'limit'],
    ['cursor not a number', { cursor: 'abc' }, 'cursor'],
    ['negative cursor', { cursor: '-1' }, 'cursor'],
    ['fractional cursor', { cursor: '1.5' }, 'cursor'],
    ['cursor with SQL', { cursor: "1' or '1'='1" }, 'cursor'],
    ['cursor beyond a 64-bit id (20 digits)', { cursor: '99999999999999999999' }, 'cursor'],
    ['cursor beyond a 64-bit id (19 digits)', { cursor: '9999999999999999999' }, 'cursor'],
    ['overlong cursor', { cursor: '1'.repeat(40) }, 'cursor'],
    ['order neither asc nor desc', { order: 'sideways' }, 'order'],
    ['from not a date-time', { from: 'yesterday' }, 'from'],
    ['to not a date-time', { to: '2031-13-45T00:00:00Z' }, 'to'],
    // RFC 3339 allows a leap second; a JavaScript Date cannot hold one.
    ['a leap second in from', { from: '2031-06-30T23:59:60Z' }, 'from'],
    ['a leap second in to', { to: '2031-06-30T23:59:60Z' }, 'to'],
    ['action not an action name', { action: "x'; drop table audit_events; --" }, 'action'],
    ['an unknown filter', { requester: 'someone' }, 'requester'],
  ];

  it.each(bad)('%s', async (_name, query, field) => {
    const before = await trailFromDatabase(t);
    const response = await t.http().get('/v1/audit').query(query).set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(JSON.stringify(response.body)).toContain(field);
    expect(await trailFromDatabase(t)).toHaveLength(before.length);
  });

  it('is the same 400 on query and export for a bound that is no usable date', async () => {
    for (const path of ['/v1/audit', '/v1/audit/export']) {
      const response = await t.http().get(path).query({ from: '2031-06-30T23:59:60Z' }).set(auth(t.adminKey));
      expectProblem(response, 400, 'validation');
      expect(JSON.stringify(response.body)).toContain('/querystring/from');
    }
  });

  it('accepts the largest 64-bit cursor', async () => {
    const page = await auditPage(t, t.adminKey, { cursor: '9223372036854775807', order: 'desc' });
    expect(ids(page.items)).toEqual(ids([...trail].reverse()).slice(0, 100));
    expect(await auditPage(t, t.adminKey, { cursor: '9223372036854775807' })).toEqual({ items: [], nextCursor: null });
  });

  it('needs authentication', async () => {
    const response = await t.http().get('/v1/audit');
    expectProblem(response, 401, 'unauthenticated');
  });
});
