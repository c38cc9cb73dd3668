// An approval answers once its change is committed, without waiting for Redis: the jobs it
// queues go out after the answer (SPEC §5: the database is the source of truth), and are in Redis
// once it answers again. (A create waits for its jobs: see request-effects.ts.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL, deleteKeysWithPrefix, jobOf, testQueuePrefix } from '../support/queue.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { auth, createProfile, openRequest } from './helpers.js';

const prefix = testQueuePrefix();
let t: TestApp;
let redis: TcpProxy;

beforeAll(async () => {
  const target = new URL(TEST_REDIS_URL);
  redis = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  t = await startTestApp({
    // The rate limits keep their counters in Redis; off, so Redis is the queue's alone here.
    env: { REDIS_URL: `redis://127.0.0.1:${redis.port}`, BREVET_RATE_LIMIT_PER_MINUTE: '0', BREVET_AUTH_FAILURES_PER_MINUTE: '0' },
    overrides: { queuePrefix: prefix, notifyBackoffMs: 50 },
  });
});

afterAll(async () => {
  redis?.release();
  await t?.close();
  await redis?.close();
  await deleteKeysWithPrefix(prefix);
});

it('answers an approval while Redis holds every command, and its jobs are there once it answers', async () => {
  const profile = await createProfile(t, { required: 1 });
  const requester = await t.principal({ groups: ['dev'] });
  const approver = await t.principal({ groups: ['sre'] });

  const created = await openRequest(t, requester.key, { profile: profile.name });
  expect(created.status).toBe('pending');
  redis.hold();
  const approved = await t.http().post(`/v1/requests/${created.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve' });
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  expect(approved.body.status).toBe('active');
  redis.release();
  // Had the answer waited, it would have given up on Redis after 2 s and said so.
  expect(t.logs.filter((line) => line.includes('scheduling after commit failed'))).toEqual([]);

  // The queue's connection keeps its commands in order: these reads follow the held adds.
  expect(await (await jobOf(t, 'expire-pending', created.id))?.getState()).toBe('delayed');
  const end = await jobOf(t, 'end', created.id);
  expect(await end?.getState()).toBe('delayed');
  expect(end?.opts.delay).toBe(new Date(approved.body.endsAt).getTime() - t.clock.now().getTime());
});
