// Issue 10 item 2: a flood of refused authentications cannot grow the audit trail without bound.
// The first `auth.denied` of a kind (principal, channel, reason) is written at once; the rest of
// its window is counted and written as one summary when the window has ended. Rate limits are off
// here (the default of the test app), so every attempt reaches the lookup.
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { DENIAL_WINDOW_MS } from '../src/principals/auth-denials.js';
import { startListeningApp } from './requests/helpers.js';
import { auth } from './support/api.js';
import type { TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startListeningApp({ env: { BREVET_TRUST_PROXY: 'true' } });
});
afterAll(async () => {
  await t?.close();
});

async function disabledPrincipal() {
  const p = await t.principal({});
  await t.http().patch(`/v1/principals/${p.id}`).set(auth(t.adminKey)).send({ disabled: true }).expect(200);
  return p;
}

const deniedOf = (principalId: string) =>
  t.deps.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, 'auth.denied'), eq(auditEvents.actorId, principalId)))
    .orderBy(asc(auditEvents.id));

const attempt = (key: string, source: string) => t.http().get('/v1/me').set(auth(key)).set('x-forwarded-for', source).expect(401);

it('writes the first refusal at once and folds a flood, sequential and concurrent, into one summary', async () => {
  const p = await disabledPrincipal();
  await attempt(p.key, '203.0.113.1');
  expect(await deniedOf(p.id)).toHaveLength(1);

  for (let i = 0; i < 20; i += 1) await attempt(p.key, `203.0.113.${(i % 3) + 1}`);
  await Promise.all(Array.from({ length: 30 }, () => attempt(p.key, '203.0.113.9')));
  const [first] = await deniedOf(p.id);
  expect(await deniedOf(p.id)).toHaveLength(1);
  expect(first!.sourceIp).toBe('203.0.113.1');
  expect(first!.details).toMatchObject({ reason: 'principal-disabled', via: 'api-key', principalId: p.id });

  // Before the window ends nothing more is written; after it, one summary with the count.
  await t.deps.authDenials.flush();
  expect(await deniedOf(p.id)).toHaveLength(1);
  t.clock.advance(DENIAL_WINDOW_MS + 1_000);
  await t.deps.authDenials.flush();
  const [, summary] = await deniedOf(p.id);
  expect(summary!.details).toMatchObject({ reason: 'principal-disabled', via: 'api-key', aggregated: true, count: 50, distinctSourceIps: 4 });
  expect((summary!.details as { sourceIps: string[] }).sourceIps.sort()).toEqual(['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.9']);

  // The next refusal opens a new window and is written at once again.
  await attempt(p.key, '203.0.113.4');
  expect(await deniedOf(p.id)).toHaveLength(3);
});

it('keeps kinds apart: a refusal for another principal is written at once', async () => {
  const a = await disabledPrincipal();
  const b = await disabledPrincipal();
  await attempt(a.key, '203.0.113.20');
  await attempt(a.key, '203.0.113.20');
  await attempt(b.key, '203.0.113.20');
  expect(await deniedOf(a.id)).toHaveLength(1);
  expect(await deniedOf(b.id)).toHaveLength(1);
});

it('audits a credential that names no principal (an unknown key, a token that does not verify) by system, without the credential, folded the same way', async () => {
  const byReason = async (reason: string) => (await deniedOf('system')).filter((e) => (e.details as { reason: string }).reason === reason);
  const unknown = `brv_${'u'.repeat(43)}`;
  for (let i = 0; i < 5; i += 1) await attempt(unknown, '203.0.113.40');
  const [first, ...rest] = await byReason('unknown-api-key');
  expect(rest).toEqual([]);
  expect(first).toMatchObject({ actorKind: 'system', sourceIp: '203.0.113.40', details: { reason: 'unknown-api-key', via: 'api-key' } });

  const token = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.';
  await attempt(token, '203.0.113.41');
  expect(await byReason('invalid-token')).toMatchObject([{ actorKind: 'system', details: { reason: 'invalid-token', via: 'oidc' } }]);

  const all = JSON.stringify((await deniedOf('system')).map((e) => e.details));
  expect(all).not.toContain(unknown);
  expect(all).not.toContain(token);
  t.clock.advance(DENIAL_WINDOW_MS + 1_000);
  await t.deps.authDenials.flush();
  expect((await byReason('unknown-api-key')).at(-1)!.details).toMatchObject({ aggregated: true, count: 4 });
});

it("audits a revoked key as its principal's", async () => {
  const p = await t.principal({});
  const keys = await t.http().get(`/v1/principals/${p.id}/api-keys`).set(auth(t.adminKey)).expect(200);
  const keyId = (keys.body.items as { id: string }[])[0]!.id;
  await t.http().delete(`/v1/principals/${p.id}/api-keys/${keyId}`).set(auth(t.adminKey)).expect(204);
  await attempt(p.key, '203.0.113.42');
  expect(await deniedOf(p.id)).toMatchObject([{ actorKind: 'person', details: { reason: 'api-key-revoked', via: 'api-key', principalId: p.id, keyId } }]);
});

it('writes what is left when the recorder closes (shutdown)', async () => {
  const p = await disabledPrincipal();
  for (let i = 0; i < 4; i += 1) await attempt(p.key, '203.0.113.30');
  await t.deps.authDenials.close();
  const denied = await deniedOf(p.id);
  expect(denied).toHaveLength(2);
  expect(denied[1]!.details).toMatchObject({ aggregated: true, count: 3 });
});
