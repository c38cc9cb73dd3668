import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { startOidcIssuer, type OidcIssuer } from './support/oidc-issuer.js';

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

const auth = (credential: string) => ({ authorization: `Bearer ${credential}` });

describe('logs', () => {
  it('never contain an API key, a bearer token or an Authorization header', async () => {
    const http = t.http;
    const person = await http()
      .post('/v1/principals')
      .set(auth(t.adminKey))
      .send({ email: 'logged@example.com', displayName: 'Logged', groups: ['dev'] })
      .expect(201);
    const created = await http().post(`/v1/principals/${person.body.id}/api-keys`).set(auth(t.adminKey)).send({ name: 'laptop' }).expect(201);
    const apiKey = created.body.key as string;
    await http().get('/v1/me').set(auth(apiKey)).expect(200);

    const token = await issuer.token({ sub: 'logged-user', email: 'someone-else@example.com', amr: ['pwd', 'mfa'] });
    await http().get('/v1/me').set(auth(token)).expect(200);

    // Refused calls take other paths through the logger: validation, a forged token, a bad key.
    await http().post('/v1/principals').set(auth(apiKey)).send({ displayName: 'x', secret: apiKey }).expect(400);
    await http().post('/v1/principals').set(auth(t.adminKey)).set('content-type', 'application/json').send(`{"key":"${apiKey}"`).expect(400);
    await http().get('/v1/principals').set(auth(apiKey)).expect(403);
    const forged = await issuer.wronglySignedToken({ sub: 'forger' });
    await http().get('/v1/me').set(auth(forged)).expect(401);
    await http().get('/v1/me').set(auth(`${apiKey}x`)).expect(401);
    // A client that also puts its key in the query string, as RFC 6750 allows for tokens.
    await http().get(`/v1/me?access_token=${apiKey}&x=1`).set(auth(apiKey)).expect(200);

    const logs = t.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [t.adminKey, apiKey, token, forged, apiKey.slice(4)]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/authorization"?\s*[:=]\s*"?bearer/i);
    expect(logs).not.toMatch(/brv_[A-Za-z0-9_-]{20,}/);
    // The request is still logged, with its parameter names.
    expect(logs).toContain('/v1/me?access_token=[redacted]&x=[redacted]');
  });
});
