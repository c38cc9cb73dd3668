// SPEC §10.1: GET /v1/requests/{id}?waitSeconds=N&status=S, across two API processes on one
// database. The second app has its own pool and its own LISTEN connection, as a second process
// would; the change is committed by one app and must wake a long-poll held by the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { auth, createProfile, openRequest, review, startListeningApp, type CreatedProfile } from './helpers.js';

let a: TestApp;
let b: TestApp;
let profile: CreatedProfile;
let alice: { id: string; key: string };
let bob: { id: string; key: string };

beforeAll(async () => {
  a = await startListeningApp();
  // Same database, not dropped by this app's close: the first one owns it.
  b = await startTestApp({ database: { ...a.database, drop: async () => {} } });
  await b.app.listen({ port: 0, host: '127.0.0.1' });
  profile = await createProfile(a);
  alice = await a.principal({ groups: ['dev'] });
  bob = await a.principal({ groups: ['sre'] });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const poll = (t: TestApp, key: string, id: string, query: string) => t.http().get(`/v1/requests/${id}?${query}`).set(auth(key));

describe('long-poll of one request', () => {
  it('is woken within a second by an approval committed in another API process', async () => {
    const request = await openRequest(a, alice.key, { profile: profile.name });
    const started = Date.now();
    const waiting = poll(a, alice.key, request.id, 'waitSeconds=30&status=pending').then((r) => ({ response: r, at: Date.now() }));
    // Give the poll time to be held (it must not answer before the change).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const approved = await review(b, bob.key, request.id, 'approve');
    expect(approved.status).toBe(200);
    const approvedAt = Date.now();
    const { response, at } = await waiting;
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: request.id, status: 'active', profileName: profile.name });
    expect(at - approvedAt).toBeLessThan(1_000);
    expect(at - started).toBeGreaterThanOrEqual(300);
  });

  it('answers at once when the status is already not the one given', async () => {
    const request = await openRequest(a, alice.key, { profile: profile.name });
    const started = Date.now();
    const response = await poll(b, alice.key, request.id, 'waitSeconds=30&status=active').expect(200);
    expect(response.body.status).toBe('pending');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('answers with the unchanged request after waitSeconds', async () => {
    const request = await openRequest(a, alice.key, { profile: profile.name });
    const started = Date.now();
    const response = await poll(a, alice.key, request.id, 'waitSeconds=1&status=pending').expect(200);
    expect(response.body.status).toBe('pending');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('is woken by a cancellation in the other process too, and waitSeconds=0 answers at once', async () => {
    const request = await openRequest(a, alice.key, { profile: profile.name });
    expect((await poll(a, alice.key, request.id, 'waitSeconds=0&status=pending').expect(200)).body.status).toBe('pending');
    const waiting = poll(b, bob.key, request.id, 'waitSeconds=30&status=pending');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.http().post(`/v1/requests/${request.id}/cancel`).set(auth(alice.key)).send({}).expect(200);
    expect((await waiting).body.status).toBe('cancelled');
  });

  it('keeps the visibility rules of the plain GET', async () => {
    const request = await openRequest(a, alice.key, { profile: profile.name });
    const stranger = await a.principal({ groups: ['other'] });
    const response = await poll(b, stranger.key, request.id, 'waitSeconds=5&status=pending').expect(404);
    expect(response.body.type).toBe('not-found');
  });

  it.each([
    ['waitSeconds=5', '/querystring/status'],
    ['waitSeconds=61&status=pending', '/querystring/waitSeconds'],
    ['waitSeconds=-1&status=pending', '/querystring/waitSeconds'],
    ['waitSeconds=5&status=waiting', '/querystring/status'],
  ])('refuses %s with 400 naming %s', async (query, field) => {
    const request = await openRequest(a, alice.key, { profile: profile.name });
    const response = await poll(a, alice.key, request.id, query).expect(400);
    expect(response.body.type).toBe('validation');
    expect(JSON.stringify(response.body)).toContain(field);
  });
});

describe('list filters the CLI uses', () => {
  it('filters by profile id or name and names the profile in each request', async () => {
    const other = await createProfile(a);
    const mine = await openRequest(a, alice.key, { profile: profile.name });
    const elsewhere = await openRequest(a, alice.key, { profile: other.name });
    for (const ref of [profile.name, profile.id]) {
      const listed = await a.http().get(`/v1/requests?mine=true&status=pending&profile=${ref}`).set(auth(alice.key)).expect(200);
      const ids = listed.body.items.map((item: { id: string }) => item.id);
      expect(ids).toContain(mine.id);
      expect(ids).not.toContain(elsewhere.id);
      expect(listed.body.items.every((item: { profileName: string }) => item.profileName === profile.name)).toBe(true);
    }
    const none = await a.http().get('/v1/requests?mine=true&profile=no-such-profile').set(auth(alice.key)).expect(200);
    expect(none.body.items).toEqual([]);
  });
});
