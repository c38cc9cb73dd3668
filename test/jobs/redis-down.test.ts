// Redis is not the source of truth: with Redis unreachable, state changes still commit and
// answer promptly, /readyz says so, and the database keeps the work for the reconciler.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { auth, createProfile, openRequest } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  // Port 1 on loopback: nothing listens, connections are refused at once.
  t = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
});
afterAll(async () => {
  await t?.close();
});

it('answers state changes without Redis and reports not ready', async () => {
  const profile = await createProfile(t, { required: 1 });
  const alice = await t.principal({ groups: ['dev'] });
  const bob = await t.principal({ groups: ['sre'] });
  const started = Date.now();
  const request = await openRequest(t, alice.key, { profile: profile.name });
  const approved = await t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(bob.key)).send({ decision: 'approve' }).expect(200);
  expect(approved.body.status).toBe('active');
  // Each scheduling attempt gives up after 2 s; nothing waits for Redis to come back.
  expect(Date.now() - started).toBeLessThan(10_000);
  const ready = await t.http().get('/readyz').expect(503);
  expect(ready.body.checks).toMatchObject({ database: 'ok', redis: 'failing' });
});
