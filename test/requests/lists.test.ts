// SPEC §7: GET /v1/requests — what each caller sees, the status / mine / reviewable filters,
// and keyset pagination that returns each request exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { auth, createProfile, expectProblem, fieldsOf, openRequest, review, startListeningApp, type CreatedProfile } from './helpers.js';

let t: TestApp;
let profile: CreatedProfile;
let alice: { id: string; key: string };
let bob: { id: string; key: string };
let carol: { id: string; key: string };
/** alice's five requests, in creation order. */
const made: string[] = [];

beforeAll(async () => {
  t = await startListeningApp();
  profile = await createProfile(t, { requesters: { groups: ['lists-dev'] }, approval: { required: 1, approverGroups: ['lists-sre'] } });
  alice = await t.principal({ groups: ['lists-dev'] });
  bob = await t.principal({ groups: ['lists-sre'] });
  carol = await t.principal({ groups: [] });
  // Three share one timestamp, so the keyset must break ties on the id.
  for (let i = 0; i < 5; i++) {
    if (i >= 3) t.clock.advance(1_000);
    made.push((await openRequest(t, alice.key, { profile: profile.name })).id);
  }
});
afterAll(async () => {
  await t?.close();
});

type Page = { items: { id: string; status: string; requesterId: string; createdAt: string }[]; nextCursor: string | null };

async function list(key: string, query: string): Promise<Page> {
  const response = await t.http().get(`/v1/requests?${query}`).set(auth(key));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as Page;
}

/** Follows nextCursor to the end; returns every id in page order. */
async function walk(key: string, query: string, limit: number, from: string | null = null): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = from;
  let pages = 0;
  do {
    const page: Page = await list(key, `${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor;
    pages += 1;
    expect(pages).toBeLessThan(20);
  } while (cursor !== null);
  return { ids, pages };
}

describe('pagination', () => {
  it('returns each of 5 requests exactly once over pages of 2, newest first', async () => {
    const { ids, pages } = await walk(alice.key, 'mine=true', 2);
    expect(pages).toBe(3);
    expect(ids).toHaveLength(5);
    expect(new Set(ids)).toEqual(new Set(made));
    // Newest first: the last two (later timestamps) lead, in reverse creation order.
    expect(ids.slice(0, 2)).toEqual([made[4], made[3]]);
  });

  it('agrees with a single page', async () => {
    const whole = await list(alice.key, 'mine=true&limit=50');
    expect(whole.nextCursor).toBeNull();
    const { ids } = await walk(alice.key, 'mine=true', 2);
    expect(ids).toEqual(whole.items.map((item) => item.id));
    const byOne = await walk(alice.key, 'mine=true', 1);
    expect(byOne.ids).toEqual(ids);
  });

  it('is stable when requests are added between pages', async () => {
    const first = await list(alice.key, 'mine=true&limit=2');
    t.clock.advance(1_000);
    const added = await openRequest(t, alice.key, { profile: profile.name });
    const rest = await walk(alice.key, 'mine=true', 2, first.nextCursor);
    const seen = [...first.items.map((item) => item.id), ...rest.ids];
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(made));
    expect(seen).not.toContain(added.id);
    // Keep the set of alice's requests the five above for the other tests.
    await t.http().post(`/v1/requests/${added.id}/cancel`).set(auth(alice.key)).send({}).expect(200);
    made.push(added.id);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['base64 of an object', Buffer.from('{}').toString('base64url')],
    ['base64 of null', Buffer.from('null').toString('base64url')],
    ['base64 of a bad date', Buffer.from('["yesterday","req_x"]').toString('base64url')],
    ['base64 of a non-string id', Buffer.from('["2031-01-01T00:00:00.000Z",5]').toString('base64url')],
    ['too long', 'x'.repeat(300)],
  ])('refuses a bad cursor (%s) with 400', async (_name, cursor) => {
    const response = await t.http().get(`/v1/requests?cursor=${encodeURIComponent(cursor)}`).set(auth(alice.key));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toContain('/querystring/cursor');
  });
});

describe('filters', () => {
  it('filters by status', async () => {
    await t.http().post(`/v1/requests/${made[0]}/cancel`).set(auth(alice.key)).send({}).expect(200);
    await review(t, bob.key, made[1]!, 'approve').expect(200);

    const cancelled = await list(alice.key, 'status=cancelled');
    expect(new Set(cancelled.items.map((i) => i.id))).toEqual(new Set([made[0], made[5]]));
    expect(cancelled.items.every((i) => i.status === 'cancelled')).toBe(true);
    const active = await list(alice.key, 'status=active');
    expect(active.items.map((i) => i.id)).toEqual([made[1]]);
    const pending = await list(alice.key, 'status=pending');
    expect(new Set(pending.items.map((i) => i.id))).toEqual(new Set([made[2], made[3], made[4]]));
    expect(await list(alice.key, 'status=denied')).toEqual({ items: [], nextCursor: null });
  });

  it('mine lists the caller’s own requests only', async () => {
    const bobsOwn = await list(bob.key, 'mine=true');
    expect(bobsOwn.items).toEqual([]);
    const alices = await list(alice.key, 'mine=true');
    expect(alices.items.every((i) => i.requesterId === alice.id)).toBe(true);
    expect(alices.items).toHaveLength(6);
  });

  it('reviewable lists the pending requests the caller may review, never their own', async () => {
    const reviewable = await list(bob.key, 'reviewable=true');
    expect(new Set(reviewable.items.map((i) => i.id))).toEqual(new Set([made[2], made[3], made[4]]));
    expect(await list(alice.key, 'reviewable=true')).toEqual({ items: [], nextCursor: null });
    expect(await list(carol.key, 'reviewable=true')).toEqual({ items: [], nextCursor: null });

    // An admin who is not an approver has nothing to review.
    expect(await list(t.adminKey, 'reviewable=true')).toEqual({ items: [], nextCursor: null });

    // Combined with status and mine, the filters intersect.
    expect(await list(bob.key, 'reviewable=true&status=active')).toEqual({ items: [], nextCursor: null });
  });

  it('reviewable leaves out requests the caller already reviewed', async () => {
    const twoApprovals = await createProfile(t, { requesters: { groups: ['lists-dev'] }, approval: { required: 2, approverGroups: ['lists-sre'] } });
    const dave = await t.principal({ groups: ['lists-sre'] });
    const request = await openRequest(t, alice.key, { profile: twoApprovals.name });
    expect((await list(bob.key, 'reviewable=true')).items.map((i) => i.id)).toContain(request.id);

    await review(t, bob.key, request.id, 'approve').expect(200);
    // Still pending, still awaiting dave; but bob has done his part.
    expect((await list(bob.key, 'reviewable=true')).items.map((i) => i.id)).not.toContain(request.id);
    expect((await list(dave.key, 'reviewable=true')).items.map((i) => i.id)).toContain(request.id);
    // bob still sees it, as an approver, without the filter.
    expect((await list(bob.key, 'limit=100')).items.map((i) => i.id)).toContain(request.id);
    await t.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({}).expect(200);
  });
});

describe('visibility', () => {
  it('shows a third principal nothing', async () => {
    expect(await list(carol.key, 'limit=100')).toEqual({ items: [], nextCursor: null });
    expect(await list(carol.key, 'status=pending')).toEqual({ items: [], nextCursor: null });
  });

  it('shows a fellow requester-group member nothing of alice’s requests', async () => {
    const colleague = await t.principal({ groups: ['lists-dev'] });
    expect(await list(colleague.key, 'limit=100')).toEqual({ items: [], nextCursor: null });
  });

  it('shows approvers the requests of profiles they approve, and admins and auditors everything', async () => {
    const all = new Set(made);
    const bobs = await list(bob.key, 'limit=100');
    for (const id of made) expect(bobs.items.map((i) => i.id)).toContain(id);

    const auditor = await t.principal({ groups: ['brevet-auditors'] });
    for (const key of [t.adminKey, auditor.key]) {
      const { ids } = await walk(key, 'status=pending', 1);
      for (const id of [made[2], made[3], made[4]]) expect(ids).toContain(id);
      const everything = await list(key, 'limit=500');
      for (const id of all) expect(everything.items.map((i) => i.id)).toContain(id);
    }
  });

  it('stops showing requests to an approver removed from the approver group', async () => {
    const erin = await t.principal({ groups: ['lists-sre'] });
    expect((await list(erin.key, 'limit=100')).items.length).toBeGreaterThan(0);
    await t.http().patch(`/v1/principals/${erin.id}`).set(auth(t.adminKey)).send({ groups: [] }).expect(200);
    expect(await list(erin.key, 'limit=100')).toEqual({ items: [], nextCursor: null });
  });
});

describe('reviewable break-glass sessions', () => {
  it('lists an active break-glass request to its approvers until they give the post-hoc review', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], breakGlass: true } });
    const alice = await t.principal({ groups: ['dev'] });
    const bob = await t.principal({ groups: ['sre'] });
    const request = await openRequest(t, alice.key, { profile: profile.name, breakGlass: true });
    expect(request.status).toBe('active');
    const listed = await t.http().get('/v1/requests?reviewable=true').set(auth(bob.key)).expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(request.id);
    await review(t, bob.key, request.id, 'approve').expect(200);
    const after = await t.http().get('/v1/requests?reviewable=true').set(auth(bob.key)).expect(200);
    expect(after.body.items.map((item: { id: string }) => item.id)).not.toContain(request.id);
  });
});

describe('lists never show what the item route hides (one rule, domain/request-access.ts)', () => {
  it('a service account in the approver group sees nothing listed, and gets 404 on the item', async () => {
    const profile = await createProfile(t, { requesters: { groups: ['agree-dev'] }, approval: { required: 1, approverGroups: ['agree-sre'] } });
    const requester = await t.principal({ groups: ['agree-dev'] });
    const robot = await t.principal({ kind: 'service', displayName: 'robot', groups: ['agree-sre'] });
    const request = await openRequest(t, requester.key, { profile: profile.name });

    expect(await list(robot.key, 'limit=100')).toEqual({ items: [], nextCursor: null });
    expect(await list(robot.key, 'reviewable=true')).toEqual({ items: [], nextCursor: null });
    expectProblem(await t.http().get(`/v1/requests/${request.id}`).set(auth(robot.key)), 404, 'not-found');
  });

  it('for every kind of caller, a request is listed exactly when GET /v1/requests/{id} shows it, and reviewable only when a review is accepted', async () => {
    const group = `agree-${Date.now().toString(36)}`;
    const requester = await t.principal({ groups: ['agree-dev2'] });
    const named = await t.principal({ groups: [] });
    const namedBot = await t.principal({ kind: 'service', displayName: 'named bot', groups: [] });
    const callers = {
      requester,
      groupApprover: await t.principal({ groups: [group] }),
      named,
      namedBot,
      groupBot: await t.principal({ kind: 'service', displayName: 'group bot', groups: [group] }),
      requesterColleague: await t.principal({ groups: ['agree-dev2'] }),
      admin: await t.principal({ groups: ['brevet-admins'] }),
      auditor: await t.principal({ groups: ['brevet-auditors'] }),
      stranger: await t.principal({ groups: [] }),
    };
    const profile = await createProfile(t, {
      requesters: { groups: ['agree-dev2'] },
      approval: { required: 2, approverGroups: [group], approverPrincipals: [named.email!.toUpperCase(), namedBot.id] },
    });
    const requests = [
      await openRequest(t, requester.key, { profile: profile.name }),
      await openRequest(t, requester.key, { profile: profile.name }),
    ];
    await review(t, callers.groupApprover.key, requests[1]!.id, 'approve').expect(200);

    for (const [who, caller] of Object.entries(callers)) {
      const listed = new Set((await list(caller.key, 'limit=500')).items.map((i) => i.id));
      const reviewable = new Set((await list(caller.key, 'reviewable=true&limit=500')).items.map((i) => i.id));
      for (const request of requests) {
        const item = await t.http().get(`/v1/requests/${request.id}`).set(auth(caller.key));
        expect([200, 404], `${who} GET ${request.id}`).toContain(item.status);
        expect(listed.has(request.id), `${who}: listed ⇔ visible (${request.id})`).toBe(item.status === 200);
        if (reviewable.has(request.id)) expect(listed.has(request.id)).toBe(true);
      }
    }
    // Who awaits a review: the named person and the named service account, and the group
    // approver on the request not reviewed yet — nobody else.
    const awaited = async (key: string) => new Set((await list(key, 'reviewable=true&limit=500')).items.map((i) => i.id));
    expect(await awaited(callers.named.key)).toEqual(new Set(requests.map((r) => r.id)));
    expect(await awaited(callers.namedBot.key)).toEqual(new Set(requests.map((r) => r.id)));
    expect(await awaited(callers.groupApprover.key)).toEqual(new Set([requests[0]!.id]));
    for (const who of ['requester', 'groupBot', 'requesterColleague', 'admin', 'auditor', 'stranger'] as const) {
      expect(await awaited(callers[who].key), who).toEqual(new Set());
    }
    // And each one listed as awaiting a review may give it.
    await review(t, callers.namedBot.key, requests[0]!.id, 'approve').expect(200);
    await review(t, callers.named.key, requests[0]!.id, 'approve').expect(200);
  });
});
