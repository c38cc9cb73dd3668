// SPEC §9 BREVET_RATE_LIMIT_PER_MINUTE and issue 10 item 2: every request counts against its
// source address before authentication (failed authentication too), and failed authentications
// have their own, smaller budget per source address and per presented credential, checked before
// the credential is looked up. Counters in memory here (dev mode); shared through Redis in
// rate-limit-redis.test.ts. Sources are told apart by X-Forwarded-For (BREVET_TRUST_PROXY=true).
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { startTestApp, type TestApp } from './support/app.js';

const bearer = (credential: string) => `Bearer ${credential}`;
let sources = 0;
/** An address no other test of this file uses. */
const newSource = () => `198.51.100.${(sources += 1)}`;
const wrongKey = (n: number) => `brv_${String(n).padStart(43, 'x')}`;

function me(t: TestApp, source: string, credential: string | undefined) {
  const call = t.http().get('/v1/me').set('x-forwarded-for', source);
  return credential === undefined ? call : call.set('authorization', bearer(credential));
}

function expectRateLimited(response: { status: number; headers: Record<string, string>; body: Record<string, unknown> }) {
  expect(response.status, JSON.stringify(response.body)).toBe(429);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: 'rate-limited', status: 429 });
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
}

describe('BREVET_RATE_LIMIT_PER_MINUTE', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { BREVET_RATE_LIMIT_PER_MINUTE: '5', BREVET_TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 rate-limited problem+json past the limit, and never limits health probes', async () => {
    const source = newSource();
    for (let i = 0; i < 5; i += 1) await me(t, source, t.adminKey).expect(200);
    expectRateLimited(await me(t, source, t.adminKey));
    for (let i = 0; i < 10; i += 1) await t.http().get('/healthz').set('x-forwarded-for', source).expect(200);
    // Another source has its own budget.
    await me(t, newSource(), t.adminKey).expect(200);
  });

  it('counts requests that fail authentication, before they are authenticated', async () => {
    const source = newSource();
    await me(t, source, undefined).expect(401);
    for (let i = 0; i < 4; i += 1) await me(t, source, wrongKey(i)).expect(401);
    expectRateLimited(await me(t, source, t.adminKey));
    expectRateLimited(await me(t, source, wrongKey(99)));
  });
});

describe('BREVET_AUTH_FAILURES_PER_MINUTE', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { BREVET_AUTH_FAILURES_PER_MINUTE: '3', BREVET_TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const deniedOf = async (principalId: string) =>
    t.deps.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'auth.denied'), eq(auditEvents.actorId, principalId)));

  it('refuses a source with 429 once its failures are used up, even with a valid key; other sources go on', async () => {
    const source = newSource();
    for (let i = 0; i < 3; i += 1) await me(t, source, wrongKey(i)).expect(401);
    expectRateLimited(await me(t, source, t.adminKey));
    expectRateLimited(await me(t, source, undefined));
    await me(t, newSource(), t.adminKey).expect(200);
  });

  it('does not count successful authentications', async () => {
    const source = newSource();
    for (let i = 0; i < 10; i += 1) await me(t, source, t.adminKey).expect(200);
    await me(t, source, wrongKey(1)).expect(401);
    await me(t, source, t.adminKey).expect(200);
  });

  it("limits a disabled principal's key tried from many addresses, before the lookup, so the audit stops growing", async () => {
    const victim = await t.principal({});
    await t.http().patch(`/v1/principals/${victim.id}`).set('authorization', bearer(t.adminKey)).send({ disabled: true }).expect(200);

    for (let i = 0; i < 3; i += 1) await me(t, newSource(), victim.key).expect(401);
    for (let i = 0; i < 20; i += 1) expectRateLimited(await me(t, newSource(), victim.key));
    // Three refusals reached the lookup: the first is written, the other two wait for the summary.
    expect(await deniedOf(victim.id)).toHaveLength(1);
    t.clock.advance(61_000);
    await t.deps.authDenials.flush();
    const denied = await deniedOf(victim.id);
    expect(denied).toHaveLength(2);
    expect(denied[1]!.details).toMatchObject({ reason: 'principal-disabled', via: 'api-key', aggregated: true, count: 2 });
  });

  it('counts a malformed Authorization header as a failure too', async () => {
    const source = newSource();
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer ', 'Token x']) {
      await t.http().get('/v1/me').set('x-forwarded-for', source).set('authorization', header).expect(401);
    }
    expectRateLimited(await me(t, source, t.adminKey));
  });
});
