import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { BREVET_RATE_LIMIT_PER_MINUTE: '5' } });
});
afterAll(async () => {
  await t?.close();
});

it('answers 429 rate-limited problem+json past the limit, and never limits health probes', async () => {
  for (let i = 0; i < 5; i += 1) await t.http().get('/v1/me').set('authorization', `Bearer ${t.adminKey}`).expect(200);
  const limited = await t.http().get('/v1/me').set('authorization', `Bearer ${t.adminKey}`).expect(429);
  expect(limited.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(limited.body).toMatchObject({ type: 'rate-limited', status: 429 });
  expect(limited.headers['retry-after']).toBeDefined();
  for (let i = 0; i < 10; i += 1) await t.http().get('/healthz').expect(200);
});
