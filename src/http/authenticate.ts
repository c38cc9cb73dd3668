import type { Clock } from '../adapters/clock.js';
import { TokenRejected, VerifierUnavailable, type TokenVerifier } from '../adapters/oidc.js';
import type { Db } from '../db/client.js';
import { rolesOf, type Caller, type RoleGroups } from '../domain/caller.js';
import { hashApiKey } from '../principals/api-key-secret.js';
import type { AuthDenialRecorder } from '../principals/auth-denials.js';
import { findApiKeyByHash, touchApiKey, type ApiKeyCaller } from '../principals/repo.js';
import { resolveTokenPrincipal } from '../principals/resolve-token-principal.js';
import { Problem } from './problems.js';

export interface Authenticator {
  /** The caller behind an Authorization header, or a 401/503 Problem. */
  authenticate(authorization: string | undefined, sourceIp: string | null): Promise<Caller>;
}

export interface AuthenticatorDeps {
  db: Db;
  clock: Clock;
  roles: RoleGroups;
  tokenVerifier: TokenVerifier | undefined;
  authDenials: AuthDenialRecorder;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** Writing last-used on every call would turn each read into a write; once a minute is enough. */
const TOUCH_INTERVAL_MS = 60_000;

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  const rejected = (why: string) => new Problem('unauthenticated', why);

  async function refuseDisabled(principal: Pick<ApiKeyCaller['principal'], 'id' | 'kind'>, via: Caller['via'], sourceIp: string | null): Promise<never> {
    await deps.authDenials.record({ principal: { id: principal.id, kind: principal.kind }, ownCredential: true, via, reason: 'principal-disabled', sourceIp });
    throw rejected('the principal is disabled');
  }

  function callerOf(principal: ApiKeyCaller['principal'], via: Caller['via'], amr: string[], sourceIp: string | null): Caller {
    return {
      id: principal.id,
      kind: principal.kind,
      email: principal.email,
      displayName: principal.displayName,
      groups: principal.groups,
      amr,
      via,
      sourceIp,
      ...rolesOf(principal.groups, deps.roles),
    };
  }

  async function byToken(token: string, sourceIp: string | null): Promise<Caller> {
    if (deps.tokenVerifier === undefined) {
      await deps.authDenials.record({ ownCredential: true, via: 'oidc', reason: 'invalid-token', sourceIp, presented: { problem: 'OIDC is not configured' } });
      throw rejected('OIDC is not configured; use an API key');
    }
    let verified;
    try {
      verified = await deps.tokenVerifier.verify(token);
    } catch (error) {
      if (error instanceof VerifierUnavailable) throw new Problem('unavailable', 'the identity provider cannot be reached');
      if (error instanceof TokenRejected) {
        await deps.authDenials.record({ ownCredential: true, via: 'oidc', reason: 'invalid-token', sourceIp, presented: { problem: error.message.slice(0, 200) } });
        throw rejected('the token is not valid');
      }
      throw error;
    }
    const principal = await resolveTokenPrincipal(deps, verified, sourceIp);
    if (principal.disabled) return refuseDisabled(principal, 'oidc', sourceIp);
    return callerOf(principal, 'oidc', verified.amr, sourceIp);
  }

  async function byApiKey(key: string, sourceIp: string | null): Promise<Caller> {
    const found = await findApiKeyByHash(deps.db, hashApiKey(key));
    // Audited too, folded into one summary per minute when many come (auth-denials.ts): the key itself never is.
    if (found === undefined) {
      await deps.authDenials.record({ ownCredential: true, via: 'api-key', reason: 'unknown-api-key', sourceIp });
      throw rejected('the API key is not valid');
    }
    if (found.key.revokedAt !== null) {
      await deps.authDenials.record({ principal: { id: found.principal.id, kind: found.principal.kind }, ownCredential: true, via: 'api-key', reason: 'api-key-revoked', sourceIp, presented: { keyId: found.key.id } });
      throw rejected('the API key is not valid');
    }
    if (found.principal.disabled) return refuseDisabled(found.principal, 'api-key', sourceIp);
    const now = deps.clock.now();
    if (found.key.lastUsedAt === null || now.getTime() - found.key.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      await touchApiKey(deps.db, found.key.id, now);
    }
    return callerOf(found.principal, 'api-key', [], sourceIp);
  }

  return {
    async authenticate(authorization, sourceIp) {
      const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
      if (match === null) throw rejected('send Authorization: Bearer <OIDC token | API key>');
      const credential = match[1]!;
      if (credential.length > 8192) throw rejected('the credential is too long');
      return JWT_SHAPE.test(credential) ? byToken(credential, sourceIp) : byApiKey(credential, sourceIp);
    },
  };
}
