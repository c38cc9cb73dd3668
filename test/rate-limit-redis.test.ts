// SPEC §9 and issue 15 "Limits across processes": with REDIS_URL the rate limits are one budget
// shared through Redis by every API process, failed authentications included. Each test app pair
// uses a Redis key prefix of its own. With Redis unreachable the limiter lets requests through
// (fail-open, README "Security notes"): never a 5xx, never a wait on Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { deleteKeysWithPrefix, queueAppOptions, testQueuePrefix } from './support/queue.js';
import { until } from './support/server-process.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

const LIMITS = { BREVET_RATE_LIMIT_PER_MINUTE: '5', BREVET_AUTH_FAILURES_PER_MINUTE: '3', BREVET_TRUST_PROXY: 'true' };
let sources = 0;
const newSource = () => `192.0.2.${(sources += 1)}`;
const wrongKey = (n: number) => `brv_${String(n).padStart(43, 'y')}`;

function me(t: TestApp, source: string, credential: string) {
  return t.http().get('/v1/me').set('x-forwarded-for', source).set('authorization', `Bearer ${credential}`);
}

async function startPair(prefix: string): Promise<[TestApp, TestApp]> {
  const options = queueAppOptions(prefix, LIMITS);
  return [await startTestApp(options), await startTestApp(options)];
}

describe('two API processes sharing Redis', () => {
  const prefix = testQueuePrefix();
  const otherPrefix = testQueuePrefix();
  let a: TestApp;
  let b: TestApp;
  let elsewhere: TestApp;
  beforeAll(async () => {
    [a, b] = await startPair(prefix);
    elsewhere = await startTestApp(queueAppOptions(otherPrefix, LIMITS));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await elsewhere?.close();
    await deleteKeysWithPrefix(prefix);
    await deleteKeysWithPrefix(otherPrefix);
  });

  it('enforce one request budget per source address between them', async () => {
    const source = newSource();
    for (const t of [a, a, b, a, b]) await me(t, source, t.adminKey).expect(200);
    for (const t of [a, b]) {
      const limited = await me(t, source, t.adminKey);
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ type: 'rate-limited' });
    }
    // An installation with another prefix keeps its own budget.
    await me(elsewhere, source, elsewhere.adminKey).expect(200);
  });

  it('share the failed-authentication budget too', async () => {
    const source = newSource();
    await me(a, source, wrongKey(1)).expect(401);
    await me(b, source, wrongKey(2)).expect(401);
    await me(a, source, wrongKey(3)).expect(401);
    expect((await me(b, source, b.adminKey)).status).toBe(429);
    expect((await me(a, source, a.adminKey)).status).toBe(429);
  });
});

describe('Redis unreachable', () => {
  const prefix = testQueuePrefix();
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
    const options = queueAppOptions(prefix, LIMITS);
    t = await startTestApp({ ...options, env: { ...options.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await deleteKeysWithPrefix(prefix);
  });

  it('lets requests through without waiting (fail-open), and limits again once Redis is back', async () => {
    const source = newSource();
    for (let i = 0; i < 5; i += 1) await me(t, source, t.adminKey).expect(200);
    expect((await me(t, source, t.adminKey)).status).toBe(429);

    proxy.cut();
    for (let i = 0; i < 10; i += 1) {
      const started = Date.now();
      await me(t, source, t.adminKey).expect(200);
      await me(t, source, wrongKey(i)).expect(401);
      expect(Date.now() - started).toBeLessThan(3_000);
    }

    expect(t.logs.join('')).toMatch(/rate limits: Redis unreachable, requests are not limited until it is back \(fail-open\)/);

    proxy.restore();
    // ioredis reconnects on its own; the counter kept in Redis applies again.
    await until(async () => ((await me(t, source, t.adminKey)).status === 429 ? true : undefined), 15_000, 'the limit to hold again');
  });
});
