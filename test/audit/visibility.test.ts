// SPEC §6, §7: auditors and admins read the whole trail; anyone else reads only the events of
// their own requests, whatever filters they pass; so does verification (test/audit/verify-own.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import {
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
} from './helpers.js';

let t: TestApp;
let auditor: Principal;
let serviceAuditor: Principal;
let alice: Principal;
let bob: Principal;
let carol: Principal;
let sre: Principal;
let profile: { id: string };
const alices: string[] = [];
let bobs: string;
let trail: AuditEvent[];

beforeAll(async () => {
  t = await startAuditApp();
  profile = await createProfile(t);
  auditor = await t.principal({ groups: ['brevet-auditors'] });
  serviceAuditor = await t.principal({ kind: 'service', groups: ['brevet-auditors'] });
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['dev'] });
  carol = await t.principal({ groups: ['dev'] });
  sre = await t.principal({ groups: ['sre'] });
  const first = await openRequest(t, alice.key, profile.id);
  const second = await openRequest(t, alice.key, profile.id);
  alices.push(first.id, second.id);
  bobs = (await openRequest(t, bob.key, profile.id)).id;
  await reviewRequest(t, sre.key, first.id, 'approve');
  await reviewRequest(t, sre.key, bobs, 'deny');
  await cancelRequest(t, alice.key, second.id);
  // A refused attempt of Alice's: an event about her, but of no request of hers.
  const refused = await t.http().post(`/v1/requests/${first.id}/reviews`).set(auth(alice.key)).send({ decision: 'approve' });
  expect(refused.status).toBe(403);
  trail = await trailFromDatabase(t);
});
afterAll(async () => {
  await t?.close();
});

/** The default order: oldest first, in id order. */
const inIdOrder = (events: AuditEvent[]) => events;

describe('admins and auditors read everything', () => {
  it.each([
    ['the admin', () => t.adminKey],
    ['a person in brevet-auditors', () => auditor.key],
    ['a service account in brevet-auditors', () => serviceAuditor.key],
  ])('%s', async (_name, key) => {
    expect(await auditAll(t, key())).toStrictEqual(inIdOrder(trail));
    expect((await auditPage(t, key(), { requestId: bobs })).items.length).toBeGreaterThan(0);
    expect(await verify(t, key())).toMatchObject({ ok: true, checked: trail.length, firstBrokenId: null });
  });
});

describe('a requester reads the events of their own requests only', () => {
  it('sees every event of their requests, including the approver’s, and nothing else', async () => {
    const mine = trail.filter((e) => e.requestId !== null && alices.includes(e.requestId));
    expect(new Set(mine.map((e) => e.requestId))).toEqual(new Set(alices));
    expect(mine.some((e) => e.actor.id === sre.id && e.action === 'review.approved')).toBe(true);
    expect(await auditAll(t, alice.key)).toStrictEqual(inIdOrder(mine));
    expect(await auditAll(t, alice.key, { order: 'desc' }, 2)).toStrictEqual([...mine].reverse());
  });

  it('sees the refused attempt on her own request, but none of the events outside her requests', async () => {
    const visible = await auditAll(t, alice.key);
    const refusal = visible.find((e) => e.action === 'review.refused');
    expect(refusal).toMatchObject({ actor: { id: alice.id }, requestId: alices[0] });
    // Her own principal.created is about her, yet of no request: the trail holds it, she does not see it.
    expect(trail.some((e) => e.action === 'principal.created' && e.requestId === null)).toBe(true);
    expect(visible.some((e) => e.requestId === null)).toBe(false);
  });

  it("gets nothing for another's request, whatever the filter", async () => {
    expect(await auditPage(t, alice.key, { requestId: bobs })).toEqual({ items: [], nextCursor: null });
    expect(await auditPage(t, alice.key, { actor: bob.id })).toEqual({ items: [], nextCursor: null });
    expect(await auditPage(t, alice.key, { requestId: bobs, actor: sre.id, action: 'review.denied' })).toEqual({ items: [], nextCursor: null });
    const bobsView = await auditAll(t, bob.key);
    expect(bobsView.length).toBeGreaterThan(0);
    expect(bobsView.every((e) => e.requestId === bobs)).toBe(true);
  });

  it('cannot page past its own events with a cursor', async () => {
    // A cursor is only a position: starting from the newest id still yields Alice's events only.
    const newest = trail.at(-1)!.id;
    const page = await auditPage(t, alice.key, { cursor: String(BigInt(newest) + 1n), limit: 500, order: 'desc' });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((e) => e.requestId !== null && alices.includes(e.requestId))).toBe(true);
  });

  it('gives an approver who requested nothing an empty trail, even for requests they reviewed', async () => {
    expect(await auditPage(t, sre.key)).toEqual({ items: [], nextCursor: null });
    expect(await auditPage(t, sre.key, { requestId: alices[0]! })).toEqual({ items: [], nextCursor: null });
  });

  it('gives a principal with no requests empty items', async () => {
    expect(await auditPage(t, carol.key)).toEqual({ items: [], nextCursor: null });
    expect(await auditPage(t, carol.key, { order: 'asc', limit: 500 })).toEqual({ items: [], nextCursor: null });
  });
});

describe('verify: the whole trail for auditors and admins, the events of their own requests for anyone else', () => {
  it.each([
    ['a requester', () => alice.key, () => trail.filter((e) => e.requestId !== null && alices.includes(e.requestId)).length],
    ['a principal with no requests', () => carol.key, () => 0],
    ['an approver', () => sre.key, () => 0],
  ])('tells %s about their own events only (none sealed here)', async (_name, key, own) => {
    expect(await verify(t, key())).toMatchObject({ ok: true, checked: 0, blocks: 0, unsealed: own() });
  });

  it('refuses the anonymous with 401', async () => {
    expectProblem(await t.http().get('/v1/audit/verify'), 401, 'unauthenticated');
    expectProblem(await t.http().get('/v1/audit/export'), 401, 'unauthenticated');
    expectProblem(await t.http().get('/v1/audit').set(auth('brv_not_a_real_key')), 401, 'unauthenticated');
  });
});
