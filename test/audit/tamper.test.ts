// SPEC §3 rule 6, §6: the database refuses UPDATE, DELETE and TRUNCATE of the trail, even to a
// superuser; and when a superuser disables that protection and edits, deletes or forges an
// event, GET /v1/audit/verify names the first event that no longer holds — over the whole
// trail and over a from/to range. Each scenario has a database of its own.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../src/audit/chain.js';
import type { TestApp } from '../support/app.js';
import {
  asSuperuser,
  createProfile,
  insertRow,
  openRequest,
  reviewRequest,
  startAuditApp,
  trailFromDatabase,
  verify,
  type AuditEvent,
} from './helpers.js';

const base = new Date('2032-02-01T12:00:00.000Z');
/** Stage n of the trail happens at base + n hours, so ranges can cut between stages. */
const stage = (n: number) => new Date(base.getTime() + n * 3_600_000).toISOString();

interface Built {
  t: TestApp;
  requests: { approved: string; denied: string };
  trail: AuditEvent[];
}

/** A trail in four stages: setup, two requests, their reviews, one more request. */
async function buildTrail(): Promise<Built> {
  const t = await startAuditApp();
  t.clock.set(new Date(stage(1)));
  const profile = await createProfile(t);
  const alice = await t.principal({ groups: ['dev'] });
  const sre = await t.principal({ groups: ['sre'] });
  t.clock.set(new Date(stage(2)));
  const approved = (await openRequest(t, alice.key, profile.id)).id;
  const denied = (await openRequest(t, alice.key, profile.id)).id;
  t.clock.set(new Date(stage(3)));
  await reviewRequest(t, sre.key, approved, 'approve');
  await reviewRequest(t, sre.key, denied, 'deny');
  t.clock.set(new Date(stage(4)));
  await openRequest(t, alice.key, profile.id);
  const trail = await trailFromDatabase(t);
  expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  return { t, requests: { approved, denied }, trail };
}

const disableProtection = (client: pg.Client) => client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');

function eventOf(trail: AuditEvent[], action: string, requestId?: string): AuditEvent {
  const event = trail.find((e) => e.action === action && (requestId === undefined || e.requestId === requestId));
  expect(event, action).toBeDefined();
  return event!;
}

const inRange = (trail: AuditEvent[], from?: string, to?: string) =>
  trail.filter((e) => (from === undefined || e.occurredAt >= from) && (to === undefined || e.occurredAt < to)).length;

/** Puts an event back exactly as it was (the protection is off). */
async function restore(client: pg.Client, event: AuditEvent): Promise<void> {
  await client.query('delete from audit_events where id = $1', [event.id]);
  await insertRow(client, event);
}

describe('with the protection on', () => {
  let built: Built;
  beforeAll(async () => {
    built = await buildTrail();
  });
  afterAll(async () => {
    await built?.t.close();
  });

  it.each([
    ['UPDATE', `update audit_events set details = '{"forged":true}' where id = (select max(id) from audit_events)`],
    ['UPDATE of every row', `update audit_events set actor_id = 'nobody'`],
    ['DELETE', 'delete from audit_events where id = (select min(id) from audit_events)'],
    ['DELETE of every row', 'delete from audit_events'],
    ['TRUNCATE', 'truncate audit_events'],
    ['TRUNCATE … CASCADE', 'truncate audit_events restart identity cascade'],
  ])('refuses %s, even to a superuser', async (_name, statement) => {
    const error = await asSuperuser(built.t, (client) => client.query(statement).then(() => undefined, (e: unknown) => e));
    expect(error).toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    expect(await trailFromDatabase(built.t)).toStrictEqual(built.trail);
    expect(await verify(built.t, built.t.adminKey)).toMatchObject({ ok: true, checked: built.trail.length });
  });

  it('is a superuser connection (the refusals above are the database’s, not a missing privilege)', async () => {
    const { rows } = await asSuperuser(built.t, (client) => client.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user'));
    expect(rows[0]!.rolsuper).toBe(true);
  });
});

describe('(a) an event changed in place', () => {
  let built: Built;
  let client: pg.Client;
  beforeAll(async () => {
    built = await buildTrail();
    client = new pg.Client({ connectionString: built.t.database.url });
    await client.connect();
    await disableProtection(client);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  it('is named by verify, over the whole trail and over a range that holds it', async () => {
    const { t, trail, requests } = built;
    const target = eventOf(trail, 'request.created', requests.approved);
    await client.query(`update audit_events set details = jsonb_set(details, '{justification}', '"nothing to see here"') where id = $1`, [target.id]);

    const whole = await verify(t, t.adminKey);
    expect(whole).toMatchObject({ ok: false, firstBrokenId: target.id });
    expect(whole.checked).toBeGreaterThan(0);
    expect(whole.checked).toBeLessThanOrEqual(trail.length);
    expect(await verify(t, t.adminKey, { from: stage(2), to: stage(3) })).toMatchObject({ ok: false, firstBrokenId: target.id });
    expect(await verify(t, t.adminKey, { from: stage(1) })).toMatchObject({ ok: false, firstBrokenId: target.id });
    // Ranges that do not hold it still verify: the stored hash links them to what came before.
    expect(await verify(t, t.adminKey, { from: stage(3) })).toEqual({ ok: true, checked: inRange(trail, stage(3)), firstBrokenId: null });
    expect(await verify(t, t.adminKey, { to: stage(2) })).toEqual({ ok: true, checked: inRange(trail, undefined, stage(2)), firstBrokenId: null });

    await restore(client, target);
    expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  });

  const edits: [string, string, (built: Built) => AuditEvent][] = [
    ['the actor', `update audit_events set actor_id = 'someone-else' where id = $1`, (b) => eventOf(b.trail, 'review.approved')],
    ['the action', `update audit_events set action = 'review.approved' where id = $1`, (b) => eventOf(b.trail, 'review.denied')],
    ['the time, by one millisecond', `update audit_events set occurred_at = occurred_at + interval '1 millisecond' where id = $1`, (b) => eventOf(b.trail, 'review.denied')],
    ['the request', `update audit_events set request_id = null where id = $1`, (b) => eventOf(b.trail, 'request.approved')],
    ['the profile', `update audit_events set profile_id = 'prf_other' where id = $1`, (b) => eventOf(b.trail, 'request.activated')],
    ['the source address', `update audit_events set source_ip = '10.9.9.9' where id = $1`, (b) => eventOf(b.trail, 'request.created', b.requests.denied)],
    ['a detail added', `update audit_events set details = details || '{"extra":1}' where id = $1`, (b) => eventOf(b.trail, 'profile.created')],
    ['its hash', `update audit_events set hash = repeat('a', 64) where id = $1`, (b) => eventOf(b.trail, 'review.approved')],
    ['its prevHash', `update audit_events set prev_hash = repeat('b', 64) where id = $1`, (b) => eventOf(b.trail, 'review.approved')],
  ];

  it.each(edits)('is caught when %s is changed', async (_name, statement, pick) => {
    const target = pick(built);
    await client.query(statement, [target.id]);
    expect(await verify(built.t, built.t.adminKey)).toMatchObject({ ok: false, firstBrokenId: target.id });
    await restore(client, target);
    expect(await verify(built.t, built.t.adminKey)).toMatchObject({ ok: true, firstBrokenId: null });
  });

  it('is caught inside a range even when its time is moved out of the range', async () => {
    const { t, trail } = built;
    const target = eventOf(trail, 'review.approved');
    await client.query(`update audit_events set occurred_at = '1999-12-31T23:59:59Z' where id = $1`, [target.id]);
    // Its id is still between the first and the last event of stages 2–4.
    expect(await verify(t, t.adminKey, { from: stage(2), to: stage(5) })).toMatchObject({ ok: false, firstBrokenId: target.id });
    await restore(client, target);
    expect(await verify(t, t.adminKey, { from: stage(2), to: stage(5) })).toEqual({ ok: true, checked: inRange(trail, stage(2), stage(5)), firstBrokenId: null });
  });
});

describe('(b) an event deleted', () => {
  let built: Built;
  let client: pg.Client;
  beforeAll(async () => {
    built = await buildTrail();
    client = new pg.Client({ connectionString: built.t.database.url });
    await client.connect();
    await disableProtection(client);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  it('in the middle: verify names the event after it', async () => {
    const { t, trail, requests } = built;
    const index = trail.findIndex((e) => e.action === 'review.approved' && e.requestId === requests.approved);
    const [deleted, next] = [trail[index]!, trail[index + 1]!];
    await client.query('delete from audit_events where id = $1', [deleted.id]);

    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: next.id });
    expect(await verify(t, t.adminKey, { from: stage(3), to: stage(4) })).toMatchObject({ ok: false, firstBrokenId: next.id });
    expect(await verify(t, t.adminKey, { from: next.occurredAt })).toMatchObject({ ok: false, firstBrokenId: next.id });
    expect(await verify(t, t.adminKey, { to: stage(3) })).toEqual({ ok: true, checked: inRange(trail, undefined, stage(3)), firstBrokenId: null });
    expect(await verify(t, t.adminKey, { from: stage(4) })).toEqual({ ok: true, checked: inRange(trail, stage(4)), firstBrokenId: null });

    await insertRow(client, deleted);
    expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  });

  it('at the very start: verify names the new first event', async () => {
    const { t, trail } = built;
    await client.query('delete from audit_events where id = $1', [trail[0]!.id]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: trail[1]!.id });
    await insertRow(client, trail[0]!);
    expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  });

  it('several in a row: verify names the first survivor after them', async () => {
    const { t, trail } = built;
    const removed = trail.slice(5, 9);
    await client.query('delete from audit_events where id = any($1::bigint[])', [removed.map((e) => e.id)]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: trail[9]!.id });
    for (const event of removed) await insertRow(client, event);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true });
  });
});

describe('(c) an event forged', () => {
  let built: Built;
  let client: pg.Client;
  let gapId: string;
  let beforeGap: AuditEvent;
  let afterGap: AuditEvent;
  beforeAll(async () => {
    built = await buildTrail();
    client = new pg.Client({ connectionString: built.t.database.url });
    await client.connect();
    // A gap in the ids, as a rolled-back transaction leaves one; then more events after it.
    gapId = (await client.query<{ id: string }>(`select nextval('audit_events_id_seq')::text as id`)).rows[0]!.id;
    built.t.clock.set(new Date(stage(5)));
    const more = await built.t.principal({ groups: ['dev'] });
    expect(more.id).toBeDefined();
    built.trail = await trailFromDatabase(built.t);
    beforeGap = built.trail.filter((e) => BigInt(e.id) < BigInt(gapId)).at(-1)!;
    afterGap = built.trail.find((e) => BigInt(e.id) > BigInt(gapId))!;
    expect(await verify(built.t, built.t.adminKey)).toEqual({ ok: true, checked: built.trail.length, firstBrokenId: null });
    await disableProtection(client);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  const forgery = (id: string, prevHash: string, occurredAt: string): AuditEvent => ({
    id,
    occurredAt,
    actor: { id: 'system', kind: 'system' },
    action: 'request.approved',
    requestId: built.requests.denied,
    profileId: null,
    sourceIp: null,
    details: { forged: 'yes' },
    prevHash,
    hash: 'f'.repeat(64),
  });

  it('in a gap of the ids, with a made-up hash: verify names it, over the trail and over a range', async () => {
    const { t, trail } = built;
    const forged = forgery(gapId, beforeGap.hash, stage(4));
    await insertRow(client, forged);

    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: gapId });
    expect(await verify(t, t.adminKey, { from: stage(4) })).toMatchObject({ ok: false, firstBrokenId: gapId });
    expect(await verify(t, t.adminKey, { from: stage(4), to: stage(5) })).toMatchObject({ ok: false, firstBrokenId: gapId });
    expect(await verify(t, t.adminKey, { to: stage(4) })).toEqual({ ok: true, checked: inRange(trail, undefined, stage(4)), firstBrokenId: null });

    await client.query('delete from audit_events where id = $1', [gapId]);
    expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  });

  it('in a gap, dated outside the range it hides in: still named', async () => {
    const { t } = built;
    await insertRow(client, forgery(gapId, beforeGap.hash, '1999-01-01T00:00:00.000Z'));
    expect(await verify(t, t.adminKey, { from: stage(1), to: stage(6) })).toMatchObject({ ok: false, firstBrokenId: gapId });
    await client.query('delete from audit_events where id = $1', [gapId]);
  });

  it('in a gap, with a correctly computed hash: verify names the event after it', async () => {
    const { t } = built;
    const { prevHash: _prevHash, hash: _hash, ...fields } = forgery(gapId, beforeGap.hash, stage(4));
    await insertRow(client, { ...fields, prevHash: beforeGap.hash, hash: chainHash(beforeGap.hash, fields) });
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: afterGap.id });
    await client.query('delete from audit_events where id = $1', [gapId]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true });
  });

  it('at the end, with a made-up hash: verify names it', async () => {
    const { t, trail } = built;
    const head = trail.at(-1)!;
    const forgedId = String(BigInt(head.id) + 1n);
    await insertRow(client, forgery(forgedId, head.hash, stage(5)));
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: forgedId });
    expect(await verify(t, t.adminKey, { from: stage(5) })).toMatchObject({ ok: false, firstBrokenId: forgedId });
    expect(await verify(t, t.adminKey, { to: stage(5) })).toMatchObject({ ok: true, firstBrokenId: null });
    await client.query('delete from audit_events where id = $1', [forgedId]);
  });

  it('at the end, linked to a made-up prevHash: verify names it', async () => {
    const { t, trail } = built;
    const forgedId = String(BigInt(trail.at(-1)!.id) + 10n);
    const { prevHash: _prevHash, hash: _hash, ...fields } = forgery(forgedId, '', stage(5));
    const prevHash = 'e'.repeat(64);
    await insertRow(client, { ...fields, prevHash, hash: chainHash(prevHash, fields) });
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: forgedId });
    await client.query('delete from audit_events where id = $1', [forgedId]);
    expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  });
});
