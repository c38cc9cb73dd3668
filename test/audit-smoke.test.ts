import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

it('exports and verifies', async () => {
  await t.principal({ groups: ['dev'] });
  const nd = await t.http().get('/v1/audit/export?format=ndjson').set('authorization', `Bearer ${t.adminKey}`).expect(200);
  expect(nd.headers['content-disposition']).toMatch(/attachment; filename="brevet-audit-.*\.ndjson"/);
  expect(nd.text.trim().split('\n').length).toBeGreaterThan(1);
  const csv = await t.http().get('/v1/audit/export?format=csv').set('authorization', `Bearer ${t.adminKey}`).expect(200);
  expect(csv.text.startsWith('id,occurredAt')).toBe(true);
  const v = await t.http().get('/v1/audit/verify').set('authorization', `Bearer ${t.adminKey}`).expect(200);
  expect(v.body).toMatchObject({ ok: true, firstBrokenId: null });
  expect(v.body.checked).toBeGreaterThan(1);
});
