// Issue 10 item 12: every response carries `X-Content-Type-Options: nosniff`, and every response
// under /v1 (request data) carries `Cache-Control: no-store` — successes, errors, 404s, 429s and
// streamed exports alike.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { BREVET_RATE_LIMIT_PER_MINUTE: '50', BREVET_TRUST_PROXY: 'true' } });
});
afterAll(async () => {
  await t?.close();
});

const bearer = () => ({ authorization: `Bearer ${t.adminKey}` });

type Call = () => Promise<{ status: number; headers: Record<string, string> }>;

const everywhere: [string, number, Call][] = [
  ['GET /healthz', 200, () => t.http().get('/healthz')],
  ['GET /readyz', 200, () => t.http().get('/readyz')],
  ['GET /metrics', 200, () => t.http().get('/metrics')],
  ['GET /openapi.json', 200, () => t.http().get('/openapi.json')],
  ['GET /docs/', 200, () => t.http().get('/docs/')],
  ['GET /nowhere (404)', 404, () => t.http().get('/nowhere')],
];

const requestData: [string, number, Call][] = [
  ['GET /v1/me', 200, () => t.http().get('/v1/me').set(bearer())],
  ['GET /v1/me without a credential (401)', 401, () => t.http().get('/v1/me')],
  ['POST /v1/requests with a bad body (400)', 400, () => t.http().post('/v1/requests').set(bearer()).send({ nope: 1 })],
  ['GET /v1/requests', 200, () => t.http().get('/v1/requests').set(bearer())],
  ['GET /v1/audit', 200, () => t.http().get('/v1/audit').set(bearer())],
  ['GET /v1/audit/export (stream)', 200, () => t.http().get('/v1/audit/export?format=ndjson').set(bearer())],
  ['GET /v1/nowhere (404)', 404, () => t.http().get('/v1/nowhere').set(bearer())],
];

it.each([...everywhere, ...requestData])('%s carries X-Content-Type-Options: nosniff', async (_name, status, call) => {
  const response = await call();
  expect(response.status).toBe(status);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
});

it.each(requestData)('%s carries Cache-Control: no-store', async (_name, status, call) => {
  const response = await call();
  expect(response.status).toBe(status);
  expect(response.headers['cache-control']).toBe('no-store');
});

it('a 429 carries both', async () => {
  let response;
  do response = await t.http().get('/v1/me').set(bearer()).set('x-forwarded-for', '203.0.113.77');
  while (response.status === 200);
  expect(response.status).toBe(429);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['cache-control']).toBe('no-store');
});
