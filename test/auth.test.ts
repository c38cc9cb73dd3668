import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { startTestApp, type TestApp } from './support/app.js';
import { startOidcIssuer, type OidcIssuer } from './support/oidc-issuer.js';

let t: TestApp;
let issuer: OidcIssuer;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  t = await startTestApp({
    env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience, BREVET_ADMIN_GROUPS: 'brevet-admins,idp-admins' },
  });
});
afterAll(async () => {
  await t?.close();
  await issuer?.close();
});
// Tokens are minted on the real clock: the app's clock follows it, however long earlier tests took.
beforeEach(() => t.clock.set(new Date()));

const auth = (credential: string) => ({ authorization: `Bearer ${credential}` });
const nowSeconds = () => Math.floor(Date.now() / 1000);

let people = 0;
/** Claims of a person nobody has seen yet, so tests never share an identity. */
function newPerson(claims: Record<string, unknown> = {}) {
  people += 1;
  const tag = `${people}-${Date.now()}`;
  return { sub: `sub-${tag}`, email: `person-${tag}@example.com`, name: `Person ${people}`, ...claims };
}

async function expectUnauthenticated(headers: Record<string, string>) {
  const response = await t.http().get('/v1/me').set(headers).expect(401);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: 'unauthenticated', status: 401 });
  return response;
}

async function keyIdsOf(principalId: string): Promise<string[]> {
  const listed = await t.http().get(`/v1/principals/${principalId}/api-keys`).set(auth(t.adminKey)).expect(200);
  return (listed.body.items as { id: string }[]).map((k) => k.id);
}

describe('OIDC tokens', () => {
  it('provisions a principal on first sight, with groups and MFA from the token, and reuses it after', async () => {
    const claims = newPerson({ groups: ['ops', 'dev'], amr: ['pwd', 'mfa'] });
    const first = await t.http().get('/v1/me').set(auth(await issuer.token(claims))).expect(200);
    expect(first.body).toMatchObject({
      kind: 'person',
      email: claims.email,
      displayName: claims.name,
      groups: ['dev', 'ops'],
      authenticatedVia: 'oidc',
      mfa: true,
      roles: { admin: false, auditor: false },
    });
    expect(first.body.id).toMatch(/^prn_/);

    const again = await t.http().get('/v1/me').set(auth(await issuer.token({ ...claims, amr: ['pwd'] }))).expect(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.mfa).toBe(false);
  });

  it('takes the groups of the latest token as the truth', async () => {
    const claims = newPerson({ groups: ['dev'] });
    await t.http().get('/v1/me').set(auth(await issuer.token(claims))).expect(200);
    const later = await t.http().get('/v1/me').set(auth(await issuer.token({ ...claims, groups: ['sre'] }))).expect(200);
    expect(later.body.groups).toEqual(['sre']);
  });

  it('audits rights the identity provider gives or takes (principal.updated), once per change', async () => {
    const claims = newPerson({ groups: ['dev'] });
    const me = await t.http().get('/v1/me').set(auth(await issuer.token(claims))).expect(200);
    const updatesOf = () =>
      t.deps.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.actorId, me.body.id), eq(auditEvents.action, 'principal.updated')));
    expect(await updatesOf()).toEqual([]);

    const promoted = await t.http().get('/v1/me').set(auth(await issuer.token({ ...claims, groups: ['sre', 'idp-admins'] }))).expect(200);
    expect(promoted.body).toMatchObject({ groups: ['idp-admins', 'sre'] });
    await t.http().get('/v1/me').set(auth(await issuer.token({ ...claims, groups: ['idp-admins', 'sre'] }))).expect(200);
    const [update, ...more] = await updatesOf();
    expect(more).toEqual([]);
    expect(update!.details).toEqual({ principalId: me.body.id, changes: { groups: ['idp-admins', 'sre'] }, previous: { groups: ['dev'] }, via: 'oidc' });
  });

  it('makes a member of a BREVET_ADMIN_GROUPS group an admin', async () => {
    const admin = await t.http().get('/v1/me').set(auth(await issuer.token(newPerson({ groups: ['idp-admins'] })))).expect(200);
    expect(admin.body.roles).toEqual({ admin: true, auditor: false });
    await t.http().get('/v1/principals').set(auth(await issuer.token(newPerson({ groups: ['idp-admins'] })))).expect(200);

    const plain = await t.http().get('/v1/me').set(auth(await issuer.token(newPerson({ groups: ['dev'] })))).expect(200);
    expect(plain.body.roles.admin).toBe(false);
  });

  it.each([
    ['expired', () => issuer.expiredToken(newPerson())],
    ['not yet valid', () => issuer.notYetValidToken(newPerson())],
    ['for another audience', () => issuer.wrongAudienceToken(newPerson())],
    ['from another issuer', () => issuer.wrongIssuerToken(newPerson())],
    ['unsigned (alg none)', () => issuer.unsignedToken(newPerson())],
    ['signed with a key the issuer does not publish', () => issuer.wronglySignedToken(newPerson())],
    ['naming an unknown kid', () => issuer.unknownKidToken(newPerson())],
    ["HS256-signed with the issuer's public key", () => issuer.hs256WithPublicKeyToken(newPerson())],
    ['without exp', () => issuer.token(newPerson({ exp: undefined }))],
    ['without sub', () => issuer.token(newPerson({ sub: undefined }))],
    ['without iat, expiring more than 24 h from now', () => issuer.token(newPerson({ iat: undefined, exp: nowSeconds() + 24 * 3600 + 120 }))],
    ['issued in the future (beyond the 30 s tolerance)', () => issuer.token(newPerson({ iat: nowSeconds() + 300 }))],
    ['living longer than 24 h (exp - iat)', () => issuer.token(newPerson({ exp: nowSeconds() + 24 * 3600 + 60 }))],
    ['issued more than 24 h ago, whatever its exp', () => issuer.token(newPerson({ iat: nowSeconds() - 24 * 3600 - 120, nbf: undefined }))],
  ])('refuses a token %s with 401 unauthenticated', async (_why, mint) => {
    const before = await principalCount();
    await expectUnauthenticated(auth(await mint()));
    expect(await principalCount()).toBe(before);
  });

  it.each([
    ['issued 20 s ahead (clock skew within the tolerance)', () => ({ iat: nowSeconds() + 20, nbf: undefined })],
    ['living exactly 24 h', () => ({ iat: nowSeconds(), exp: nowSeconds() + 24 * 3600 })],
    ['without iat (optional in JWT), expiring within 24 h', () => ({ iat: undefined })],
  ])('accepts a token %s', async (_why, claims) => {
    await t.http().get('/v1/me').set(auth(await issuer.token(newPerson(claims())))).expect(200);
  });

  it('links an admin-created person by canonical email, but never through an unverified email', async () => {
    const alice = await t
      .http()
      .post('/v1/principals')
      .set(auth(t.adminKey))
      .send({ email: 'alice@example.com', displayName: 'Alice', groups: ['dev'] })
      .expect(201);

    // Someone whose IdP did not verify the address must not take over Alice's principal.
    const forged = await issuer.token({ sub: 'mallory', email: 'alice@example.com', email_verified: false });
    const refused = await t.http().get('/v1/me').set(auth(forged));
    expect(refused.body.id).not.toBe(alice.body.id);

    const token = await issuer.token({ sub: 'alice', email: ' ALICE@example.com', email_verified: true, groups: ['dev'] });
    const me = await t.http().get('/v1/me').set(auth(token)).expect(200);
    expect(me.body).toMatchObject({ id: alice.body.id, email: 'alice@example.com', displayName: 'Alice' });
    const again = await t.http().get('/v1/me').set(auth(await issuer.token({ sub: 'alice', email: 'alice@example.com' }))).expect(200);
    expect(again.body.id).toBe(alice.body.id);
  });

  it('does not link a second identity to an already linked email', async () => {
    const claims = newPerson();
    const owner = await t.http().get('/v1/me').set(auth(await issuer.token(claims))).expect(200);
    const other = await t.http().get('/v1/me').set(auth(await issuer.token({ ...claims, sub: `${claims.sub}-other` })));
    expect(other.body.id).not.toBe(owner.body.id);
  });
});

describe('the Authorization header', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['Basic scheme', 'Basic dXNlcjpwYXNz'],
    ['Bearer without a credential', 'Bearer '],
    ['Bearer with two credentials', 'Bearer abc def'],
    ['another scheme', 'Token brv_abc'],
    ['an unknown API key', 'Bearer brv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a credential of 10 000 characters', `Bearer brv_${'a'.repeat(10_000)}`],
  ])('answers 401 to a %s header', async (_why, header) => {
    await expectUnauthenticated(header === undefined ? {} : { authorization: header });
  });
});

describe('API keys', () => {
  it('accepts a key, and refuses it once an admin revokes it', async () => {
    const p = await t.principal({ groups: ['dev'] });
    const me = await t.http().get('/v1/me').set(auth(p.key)).expect(200);
    expect(me.body).toMatchObject({ id: p.id, authenticatedVia: 'api-key', mfa: false });
    // The scheme is case-insensitive (RFC 9110).
    await t.http().get('/v1/me').set({ authorization: `bearer ${p.key}` }).expect(200);

    const [keyId] = await keyIdsOf(p.id);
    await t.http().delete(`/v1/principals/${p.id}/api-keys/${keyId}`).set(auth(t.adminKey)).expect(204);
    await expectUnauthenticated(auth(p.key));
  });

  it('lets the owner revoke their own key', async () => {
    const p = await t.principal({});
    const second = await t.http().post(`/v1/principals/${p.id}/api-keys`).set(auth(t.adminKey)).send({ name: 'ci' }).expect(201);

    await t.http().delete(`/v1/principals/${p.id}/api-keys/${second.body.id}`).set(auth(p.key)).expect(204);
    await expectUnauthenticated(auth(second.body.key));
    await t.http().get('/v1/me').set(auth(p.key)).expect(200);
  });

  it("answers 404 to someone revoking another principal's key, and the key keeps working", async () => {
    const owner = await t.principal({});
    const stranger = await t.principal({});
    const [keyId] = await keyIdsOf(owner.id);

    for (const path of [`/v1/principals/${owner.id}/api-keys/${keyId}`, `/v1/principals/${stranger.id}/api-keys/${keyId}`]) {
      const refused = await t.http().delete(path).set(auth(stranger.key)).expect(404);
      expect(refused.body.type).toBe('not-found');
    }
    await t.http().get('/v1/me').set(auth(owner.key)).expect(200);
  });
});

describe('disabled principals', () => {
  it('refuses both their API key and their token, and audits the refusals', async () => {
    const p = await t.principal({});
    const token = await issuer.token({ sub: `disabled-${p.id}`, email: p.email });
    const linked = await t.http().get('/v1/me').set(auth(token)).expect(200);
    expect(linked.body.id).toBe(p.id);

    const patched = await t.http().patch(`/v1/principals/${p.id}`).set(auth(t.adminKey)).send({ disabled: true }).expect(200);
    expect(patched.body.disabled).toBe(true);

    await expectUnauthenticated(auth(p.key));
    await expectUnauthenticated(auth(token));

    const denied = await t.deps.db
      .select({ details: auditEvents.details })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'auth.denied'), eq(auditEvents.actorId, p.id)));
    expect(denied.map((row) => (row.details as { via: string }).via).sort()).toEqual(['api-key', 'oidc']);
  });
});

describe('admin routes', () => {
  it.each([
    ['POST', '/v1/principals', { email: 'nope@example.com', displayName: 'Nope' }],
    ['GET', '/v1/principals', undefined],
    ['GET', '/v1/principals/:self', undefined],
    ['PATCH', '/v1/principals/:self', { groups: ['brevet-admins'] }],
    ['POST', '/v1/principals/:self/api-keys', { name: 'extra' }],
    ['GET', '/v1/principals/:self/api-keys', undefined],
  ] as const)('refuses %s %s to a non-admin with 403 forbidden', async (method, template, body) => {
    const p = await t.principal({ groups: ['dev'] });
    const before = { principals: await allPrincipals(), keys: await keyIdsOf(p.id) };

    const path = template.replace(':self', p.id);
    const call = t.http()[method === 'GET' ? 'get' : method === 'POST' ? 'post' : 'patch'](path).set(auth(p.key));
    const response = await (body === undefined ? call : call.send(body)).expect(403);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.type).toBe('forbidden');

    expect({ principals: await allPrincipals(), keys: await keyIdsOf(p.id) }).toEqual(before);
  });
});

async function allPrincipals(): Promise<unknown[]> {
  const listed = await t.http().get('/v1/principals?limit=500').set(auth(t.adminKey)).expect(200);
  return listed.body.items as unknown[];
}

async function principalCount(): Promise<number> {
  return (await allPrincipals()).length;
}

describe('e-mails the IdP did not verify', () => {
  it('links a token without email_verified (IdPs such as Entra ID never send it) by canonical e-mail', async () => {
    const email = `no-claim-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    const admin = await t.http().post('/v1/principals').set(auth(t.adminKey)).send({ email, displayName: 'Noclaim', groups: ['sre'] }).expect(201);
    const token = await issuer.token({ sub: `noclaim-${email}`, email: ` ${email.toUpperCase()}`, email_verified: undefined });
    const me = await t.http().get('/v1/me').set(auth(token)).expect(200);
    expect(me.body).toMatchObject({ id: admin.body.id, email });
  });

  it.each([
    ['false', false],
    ['the string "true"', 'true'],
  ])('with email_verified %s, the token neither links to nor claims the e-mail', async (_label, verified) => {
    const email = `unverified-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    const admin = await t.http().post('/v1/principals').set(auth(t.adminKey)).send({ email, displayName: 'Victim', groups: ['sre'] }).expect(201);
    const token = await issuer.token({ sub: `claimant-${email}`, email, email_verified: verified });
    const me = await t.http().get('/v1/me').set(auth(token)).expect(200);
    expect(me.body.id).not.toBe(admin.body.id);
    expect(me.body.email).toBeNull();
  });
});
