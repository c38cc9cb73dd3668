import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

it('writes one info line per request (method, censored URL, status, time); the incoming line is debug only', async () => {
  await t.http().get('/v1/me?access_token=abc').set({ authorization: `Bearer ${t.adminKey}` }).expect(200);
  const lines = t.logs.map((line) => JSON.parse(line) as { level: number; msg: string; reqId?: string; req?: { url: string }; res?: { statusCode: number } });
  const mine = lines.filter((line) => line.req?.url === '/v1/me?access_token=[redacted]');
  const reqId = mine[0]?.reqId;
  expect(reqId).toBeDefined();
  const info = lines.filter((line) => line.reqId === reqId && line.level >= 30);
  expect(info).toHaveLength(1);
  expect(info[0]).toMatchObject({ msg: 'request completed', res: { statusCode: 200 }, responseTime: expect.any(Number) });
  expect(lines.filter((line) => line.reqId === reqId && line.msg === 'incoming request').map((line) => line.level)).toEqual([20]);
});
