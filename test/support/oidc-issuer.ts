// A local OpenID Connect issuer for integration tests: discovery document,
// JWKS, and helpers that mint valid and deliberately broken tokens.
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';

type Claims = Record<string, unknown>;

export interface TokenOptions {
  alg?: 'RS256';
  kid?: string;
}

export interface OidcIssuer {
  issuer: string; // http://127.0.0.1:PORT
  jwksUrl: string; // issuer + '/jwks'
  audience: string; // default 'brevet'
  /** How many times /jwks was fetched, so tests can assert caching. */
  readonly jwksRequests: number;
  /** A valid RS256 token. Claims merge over defaults; `undefined` values drop the claim. */
  token(claims?: Claims, opts?: TokenOptions): Promise<string>;
  /** Forged or broken tokens for negative tests. */
  expiredToken(claims?: Claims): Promise<string>;
  notYetValidToken(claims?: Claims): Promise<string>;
  wrongAudienceToken(claims?: Claims): Promise<string>;
  wrongIssuerToken(claims?: Claims): Promise<string>;
  unsignedToken(claims?: Claims): Promise<string>;
  wronglySignedToken(claims?: Claims): Promise<string>;
  unknownKidToken(claims?: Claims): Promise<string>;
  hs256WithPublicKeyToken(claims?: Claims): Promise<string>;
  close(): Promise<void>;
}

const KID = 'test-key-1';

const b64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startOidcIssuer(opts: { audience?: string } = {}): Promise<OidcIssuer> {
  const audience = opts.audience ?? 'brevet';
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  // A second key pair the relying party has never seen, for forgery tests.
  const rogue = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] };
  const publicPem = await exportSPKI(publicKey);

  let jwksRequests = 0;
  let issuer = ''; // filled in once the port is known

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method_not_allowed' });
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (path === '/jwks') {
      jwksRequests++;
      return send(200, jwks);
    }
    send(404, { error: 'not_found' });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  /** Defaults, then overrides; an override of `undefined` removes the claim. */
  const payload = (claims: Claims = {}): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    const merged: Claims = {
      iss: issuer,
      aud: audience,
      sub: 'user-1',
      email: 'user1@example.com',
      email_verified: true,
      name: 'User One',
      groups: [],
      amr: ['pwd'],
      iat: now,
      nbf: now,
      exp: now + 600,
      ...claims,
    };
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
    return merged as JWTPayload;
  };

  const sign = (body: JWTPayload, key: CryptoKey, kid: string): Promise<string> =>
    new SignJWT(body).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key);

  const now = (): number => Math.floor(Date.now() / 1000);

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    audience,
    get jwksRequests() {
      return jwksRequests;
    },
    token: (claims, tokenOpts) => sign(payload(claims), privateKey, tokenOpts?.kid ?? KID),
    expiredToken: (claims) =>
      sign(payload({ iat: now() - 720, nbf: now() - 720, exp: now() - 120, ...claims }), privateKey, KID),
    notYetValidToken: (claims) =>
      sign(payload({ nbf: now() + 600, exp: now() + 1200, ...claims }), privateKey, KID),
    wrongAudienceToken: (claims) =>
      sign(payload({ aud: 'some-other-client', ...claims }), privateKey, KID),
    wrongIssuerToken: (claims) =>
      sign(payload({ iss: 'http://127.0.0.1:1/evil', ...claims }), privateKey, KID),
    // jose will not produce alg "none", so assemble it by hand with an empty signature.
    unsignedToken: async (claims) =>
      `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload(claims))}.`,
    // Claims the issuer's kid, so a verifier picks the real key and must fail the signature check.
    wronglySignedToken: (claims) => sign(payload(claims), rogue.privateKey, KID),
    unknownKidToken: (claims) => sign(payload(claims), rogue.privateKey, 'unknown-kid'),
    // Algorithm confusion: HMAC keyed with the public key PEM, as a naive verifier that
    // trusts the header's alg would check it. jose refuses asymmetric-key material as an
    // HMAC secret, so sign with node:crypto directly.
    hs256WithPublicKeyToken: async (claims) => {
      const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: KID })}.${b64url(payload(claims))}`;
      const sig = createHmac('sha256', publicPem).update(input).digest('base64url');
      return `${input}.${sig}`;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Drop keep-alive sockets (e.g. from fetch) so close() resolves promptly.
        server.closeAllConnections();
      }),
  };
}
