// SPEC §2, §3 rules 5 and 6, §6: every transition writes exactly one audit event in the same
// transaction, the chain links, nothing secret lands in it, readers see what they may, and a
// change whose event cannot be written does not happen.
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHash } from '../../src/audit/proof.js';
import { auditView } from '../../src/audit/view.js';
import { requests } from '../../src/db/schema.js';
import { hashApiKey } from '../../src/principals/api-key-secret.js';
import { runTimedTransition } from '../../src/requests/run-timed-transition.js';
import type { TestApp } from '../support/app.js';
import {
  actionsOf,
  allAudit,
  auditOf,
  auth,
  countRequests,
  createProfile,
  LOOPBACK,
  openRequest,
  postRequest,
  review,
  reviewRows,
  startListeningApp,
  statusOf,
  type AuditRow,
  type CreatedProfile,
} from './helpers.js';

let t: TestApp;
let profile: CreatedProfile;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let carol: { id: string; key: string };
let auditor: { id: string; key: string };
/** Every API key handed out in this file: none may ever appear in the audit trail. */
const keys: string[] = [];

beforeAll(async () => {
  t = await startListeningApp();
  profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], pendingTtlSeconds: 60 } });
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['sre'] });
  carol = await t.principal({ groups: ['dev'] });
  auditor = await t.principal({ groups: ['brevet-auditors'] });
  keys.push(t.adminKey, alice.key, bob.key, carol.key, auditor.key);
});
afterAll(async () => {
  await t?.close();
});

/** Exactly one event of `action` for the request, by `actorId`, with a source address when a person acted. */
async function expectOneEvent(events: AuditRow[], action: string, actorId: string, requestId: string): Promise<AuditRow> {
  const matching = events.filter((e) => e.action === action);
  expect(matching, `${action} events`).toHaveLength(1);
  const event = matching[0]!;
  expect(event).toMatchObject({ action, requestId, profileId: profile.id, actorId });
  if (actorId === 'system') {
    expect(event).toMatchObject({ actorKind: 'system', sourceIp: null });
  } else {
    expect(event.actorKind).toBe('person');
    expect(LOOPBACK).toContain(event.sourceIp);
  }
  expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
  return event;
}

const ids: Record<string, string> = {};

describe('every transition leaves exactly one audit event', () => {
  it('pending → active by approval, then revoked', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    await review(t, bob.key, request.id, 'approve', 'ok').expect(200);
    await t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(alice.key)).send({ reason: 'done' }).expect(200);
    ids['revoked'] = request.id;

    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'review.approved', 'request.approved', 'request.activated', 'request.revoked']);
    const created = await expectOneEvent(events, 'request.created', alice.id, request.id);
    expect(created.details).toMatchObject({ justification: request.justification, durationSeconds: 1800, profileVersion: 1 });
    const reviewed = await expectOneEvent(events, 'review.approved', bob.id, request.id);
    expect(reviewed.details).toMatchObject({ comment: 'ok', channel: 'api' });
    await expectOneEvent(events, 'request.approved', bob.id, request.id);
    const activated = await expectOneEvent(events, 'request.activated', bob.id, request.id);
    expect(activated.details).toMatchObject({ startsAt: expect.any(String), endsAt: expect.any(String), breakGlass: false });
    const revoked = await expectOneEvent(events, 'request.revoked', alice.id, request.id);
    expect(revoked.details).toMatchObject({ reason: 'done' });
  });

  it('pending → denied', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    await review(t, bob.key, request.id, 'deny', 'no').expect(200);
    ids['denied'] = request.id;
    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'review.denied', 'request.denied']);
    await expectOneEvent(events, 'review.denied', bob.id, request.id);
    await expectOneEvent(events, 'request.denied', bob.id, request.id);
  });

  it('pending → cancelled', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({ reason: 'not needed' }).expect(200);
    ids['cancelled'] = request.id;
    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'request.cancelled']);
    const cancelled = await expectOneEvent(events, 'request.cancelled', alice.id, request.id);
    expect(cancelled.details).toMatchObject({ reason: 'not needed' });
  });

  it('pending → expired, by the system', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    t.clock.advance(61_000);
    expect(await runTimedTransition(t.deps, request.id, 'expire')).toBe(true);
    ids['expired'] = request.id;
    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'request.expired']);
    await expectOneEvent(events, 'request.expired', 'system', request.id);
  });

  it('active → ended, by the system', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name, durationSeconds: 900 });
    await review(t, bob.key, request.id, 'approve').expect(200);
    t.clock.advance(900_000);
    expect(await runTimedTransition(t.deps, request.id, 'end')).toBe(true);
    ids['ended'] = request.id;
    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'review.approved', 'request.approved', 'request.activated', 'request.ended']);
    await expectOneEvent(events, 'request.ended', 'system', request.id);
  });

  it('approved (scheduled) → active by the system, then revoked by an admin', async () => {
    const startsAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
    const request = await openRequest(t, alice.key, { profile: profile.name, startsAt });
    await review(t, bob.key, request.id, 'approve').expect(200);
    t.clock.advance(3_600_000);
    expect(await runTimedTransition(t.deps, request.id, 'activate')).toBe(true);
    const admin = await t.principal({ groups: ['brevet-admins'] });
    keys.push(admin.key);
    await t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(admin.key)).send({ reason: 'incident over' }).expect(200);
    const events = await auditOf(t, request.id);
    expect(events.map((e) => e.action)).toEqual(['request.created', 'review.approved', 'request.approved', 'request.activated', 'request.revoked']);
    await expectOneEvent(events, 'request.activated', 'system', request.id);
    await expectOneEvent(events, 'request.revoked', admin.id, request.id);
  });
});

describe('reading the trail', () => {
  it('gives admins and auditors every event of a request', async () => {
    const id = ids['revoked']!;
    const expected = (await auditOf(t, id)).map((e) => e.id.toString());
    for (const key of [t.adminKey, auditor.key]) {
      const response = await t.http().get(`/v1/audit?requestId=${id}&order=asc`).set(auth(key)).expect(200);
      expect(response.body.items.map((e: { id: string }) => e.id)).toEqual(expected);
      expect(response.body.items[0]).toMatchObject({ action: 'request.created', requestId: id, actor: { id: alice.id, kind: 'person' } });
    }
  });

  it('gives a requester the events of their own requests and nothing of others', async () => {
    const own = await t.http().get(`/v1/audit?requestId=${ids['denied']}&order=asc`).set(auth(alice.key)).expect(200);
    expect(own.body.items.map((e: { action: string }) => e.action)).toEqual(['request.created', 'review.denied', 'request.denied']);

    const carolsRequest = await openRequest(t, carol.key, { profile: profile.name });
    const others = await t.http().get(`/v1/audit?requestId=${carolsRequest.id}`).set(auth(alice.key)).expect(200);
    expect(others.body.items).toEqual([]);

    // Unfiltered, alice sees her requests' events only: no profile, principal or other requests' events.
    const mine = new Set(
      (await t.deps.db.select({ id: requests.id }).from(requests).where(eq(requests.requesterId, alice.id))).map((r) => r.id),
    );
    const everything = await t.http().get('/v1/audit?limit=500').set(auth(alice.key)).expect(200);
    expect(everything.body.items.length).toBeGreaterThan(0);
    for (const event of everything.body.items as { requestId: string }[]) expect(mine).toContain(event.requestId);

    // An approver is not the requester: the trail of requests bob reviewed stays closed to him.
    const bobs = await t.http().get(`/v1/audit?requestId=${ids['denied']}`).set(auth(bob.key)).expect(200);
    expect(bobs.body.items).toEqual([]);
  });
});

describe('fail closed (rule 6)', () => {
  /** Runs `body` while the database refuses audit events with `action`, as the superuser would arrange it. */
  async function whileAuditRefuses(action: string, body: () => Promise<void>): Promise<void> {
    const client = new pg.Client({ connectionString: t.database.url });
    await client.connect();
    try {
      await client.query(`ALTER TABLE audit_events ADD CONSTRAINT refuse_event CHECK (action <> '${action}') NOT VALID`);
      try {
        await body();
      } finally {
        await client.query('ALTER TABLE audit_events DROP CONSTRAINT refuse_event');
      }
    } finally {
      await client.end();
    }
  }

  it('does not approve a request whose review.approved event cannot be written', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    const eventsBefore = await actionsOf(t, request.id);
    await whileAuditRefuses('review.approved', async () => {
      const response = await review(t, bob.key, request.id, 'approve');
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(response.body)).not.toMatch(/refuse_event|audit_events|constraint/i);
    });
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(0);
    expect(await actionsOf(t, request.id)).toEqual(eventsBefore);

    // Once the trail accepts events again, the same approval goes through in full.
    const approved = await review(t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });

  it('does not activate a request whose request.activated event cannot be written', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    await whileAuditRefuses('request.activated', async () => {
      const response = await review(t, bob.key, request.id, 'approve');
      expect(response.status).toBeGreaterThanOrEqual(400);
    });
    // The review, the approval and the activation are one transaction: none of them happened.
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await reviewRows(t, request.id)).toHaveLength(0);
    expect(await actionsOf(t, request.id)).toEqual(['request.created']);
  });

  it('does not create a request whose request.created event cannot be written', async () => {
    const before = await countRequests(t);
    await whileAuditRefuses('request.created', async () => {
      const response = await postRequest(t, alice.key, { profile: profile.name });
      expect(response.status).toBeGreaterThanOrEqual(400);
    });
    expect(await countRequests(t)).toBe(before);
  });

  it('does not expire a request whose request.expired event cannot be written', async () => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    t.clock.advance(61_000);
    await whileAuditRefuses('request.expired', async () => {
      await expect(runTimedTransition(t.deps, request.id, 'expire')).rejects.toThrow();
    });
    expect(await statusOf(t, request.id)).toBe('pending');
    expect(await runTimedTransition(t.deps, request.id, 'expire')).toBe(true);
    expect(await statusOf(t, request.id)).toBe('expired');
  });
});

describe('the trail as a whole', () => {
  it('gives every event its own hash of its content, in strictly increasing ids', async () => {
    const rows = await allAudit(t);
    expect(rows.length).toBeGreaterThan(20);
    rows.forEach((row, i) => {
      if (i > 0) expect(row.id > rows[i - 1]!.id).toBe(true);
      const { prevHash, hash, ...fields } = auditView(row);
      expect(prevHash).toBeNull();
      expect(eventHash(fields), `hash of event ${row.id}`).toBe(hash);
    });
  });

  it('holds no API key, nor the hash of one', async () => {
    const json = JSON.stringify((await allAudit(t)).map(auditView));
    for (const key of keys) {
      expect(json).not.toContain(key);
      expect(json).not.toContain(hashApiKey(key));
    }
    expect(json).not.toMatch(/brv_[A-Za-z0-9_-]{20,}/);
  });

  it('has no event without an actor or an action', async () => {
    for (const row of await allAudit(t)) {
      expect(row.actorId).not.toBe('');
      expect(row.action).toMatch(/^[a-z-]+\.[a-z-]+$/);
    }
  });
});
