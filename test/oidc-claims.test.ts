// The claims Brevet keeps from an OIDC token obey the rules of any other input (src/domain/text.ts):
// a validly signed token whose sub, name, email, groups or amr carry NUL, a lone surrogate or a
// bidi control is refused with 401 as a whole (never a 500 at the database, never a principal
// whose name reads one way and is stored another), and nothing is provisioned.
import { ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { startTestApp, type TestApp } from './support/app.js';
import { startOidcIssuer, type OidcIssuer } from './support/oidc-issuer.js';
import { countAudit } from './requests/helpers.js';

let t: TestApp;
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  t = await startTestApp({ env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience } });
});
afterAll(async () => {
  await t?.close();
  await issuer?.close();
});

let people = 0;
function person(claims: Record<string, unknown> = {}) {
  people += 1;
  return { sub: `claims-${people}-${Date.now()}`, email: `claims-${people}@example.com`, email_verified: true, name: `Person ${people}`, groups: ['dev'], ...claims };
}

async function principalCount(): Promise<number> {
  const listed = await t.http().get('/v1/principals?limit=500').set({ authorization: `Bearer ${t.adminKey}` }).expect(200);
  return listed.body.items.length as number;
}

describe('token claims', () => {
  it.each([
    ['NUL in sub', { sub: 'alice\u0000admin' }],
    ['a lone surrogate in sub', { sub: 'alice\ud800' }],
    ['NUL in name', { name: 'Alice\u0000' }],
    ['a bidi override in name', { name: 'Alice \u202enimda' }],
    ['a lone surrogate in name', { name: '\udc00Alice' }],
    ['NUL in email', { email: 'alice\u0000@example.com' }],
    ['a bidi mark in email', { email: 'alice\u200f@example.com' }],
    ['NUL in a group', { groups: ['dev', 'sre\u0000'] }],
    ['a lone surrogate in a group', { groups: ['\ud800'] }],
    ['a bidi isolate in a group', { groups: ['\u2066sre'] }],
    ['NUL in amr', { amr: ['pwd', 'mfa\u0000'] }],
  ])('refuses a token with %s (401, nothing provisioned)', async (_what, claims) => {
    // Nothing but the refusal itself (auth.denied, folded per minute) reaches the audit trail.
    const otherAudit = () => countAudit(t, ne(auditEvents.action, 'auth.denied'));
    const before = { principals: await principalCount(), audit: await otherAudit() };
    const response = await t.http().get('/v1/me').set({ authorization: `Bearer ${await issuer.token(person(claims))}` });
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.type).toBe('unauthenticated');
    expect({ principals: await principalCount(), audit: await otherAudit() }).toEqual(before);
  });

  it('accepts the same person with clean claims', async () => {
    const response = await t.http().get('/v1/me').set({ authorization: `Bearer ${await issuer.token(person({ name: 'Zoë مرحبا \ud83d\ude80' }))}` });
    expect(response.status).toBe(200);
    expect(response.body.displayName).toBe('Zoë مرحبا \ud83d\ude80');
  });
});
