import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { OidcConfig } from '../config.js';
import { findUnsafeText } from '../domain/text.js';
import type { Clock } from './clock.js';

/** Claims Brevet uses from a verified token. */
export interface VerifiedToken {
  issuer: string;
  subject: string;
  /** Only a verified email (see claimsOf). */
  email: string | undefined;
  name: string | undefined;
  groups: string[];
  amr: string[];
}

export interface TokenVerifier {
  /** Resolves the token's claims, or throws TokenRejected / VerifierUnavailable. */
  verify(token: string): Promise<VerifiedToken>;
}

/** The token is not acceptable; the reason is for logs, never for the client. */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
}

/** The issuer's keys could not be fetched: a 503, not the caller's fault. */
export class VerifierUnavailable extends Error {
  override name = 'VerifierUnavailable';
}

/**
 * Asymmetric algorithms only. Listing them explicitly is what refuses `alg: none` and the
 * HS256-signed-with-the-public-key confusion: a symmetric algorithm never reaches a key.
 */
const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 30;
/**
 * A token lives at most this long: IdPs issue tokens for minutes to hours, so a longer one is a
 * forgery or a misconfiguration. With `iat`, it must not be in the future (beyond the tolerance),
 * `exp - iat` must stay within this, and a token issued longer ago is refused whatever its `exp`
 * says; without `iat` (optional in JWT and OIDC access tokens), `exp` must be at most this far ahead.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;
const FETCH_TIMEOUT_MS = 5_000;

export function createOidcVerifier(config: OidcConfig, clock: Clock): TokenVerifier {
  let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const keys = () => {
    keySet ??= resolveJwksUrl(config).then((url) =>
      createRemoteJWKSet(new URL(url), { timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: 30_000 }),
    );
    // A failed discovery is retried on the next token instead of being cached forever.
    keySet.catch(() => (keySet = undefined));
    return keySet;
  };

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        const { payload: verified } = await jwtVerify(token, await keys(), {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALLOWED_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: clock.now(),
          requiredClaims: ['exp', 'sub'],
        });
        const now = Math.floor(clock.now().getTime() / 1000);
        if (verified.iat === undefined) {
          if (verified.exp! - now > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
            throw new TokenRejected(`the token has no iat and expires more than ${MAX_TOKEN_LIFETIME_SECONDS} s from now`);
          }
        } else {
          if (verified.iat > now + CLOCK_TOLERANCE_SECONDS) throw new TokenRejected('the token was issued in the future (iat)');
          if (now - verified.iat > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) {
            throw new TokenRejected(`the token was issued more than ${MAX_TOKEN_LIFETIME_SECONDS} s ago (iat)`);
          }
          if (verified.exp! - verified.iat > MAX_TOKEN_LIFETIME_SECONDS) {
            throw new TokenRejected(`the token lives longer than ${MAX_TOKEN_LIFETIME_SECONDS} s (exp - iat)`);
          }
        }
        payload = verified;
      } catch (error) {
        if (error instanceof TokenRejected) throw error;
        if (isUnavailable(error)) throw new VerifierUnavailable('the OIDC issuer keys could not be fetched', { cause: error });
        throw new TokenRejected(error instanceof Error ? error.message : 'invalid token', { cause: error });
      }
      return claimsOf(payload, config);
    },
  };
}

function isUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout) return true;
  if (error instanceof errors.JOSEError) return false;
  // Network failures surface as plain errors from fetch (TypeError, AbortError).
  return error instanceof Error;
}

async function resolveJwksUrl(config: OidcConfig): Promise<string> {
  if (config.jwksUrl !== undefined) return config.jwksUrl;
  const response = await fetch(`${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
  const document = (await response.json()) as { jwks_uri?: unknown };
  if (typeof document.jwks_uri !== 'string') throw new Error('OIDC discovery document has no jwks_uri');
  return document.jwks_uri;
}

function claimsOf(payload: JWTPayload, config: OidcConfig): VerifiedToken {
  const groups = payload[config.groupsClaim];
  const amr = payload['amr'];
  const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const verified = payload['email_verified'];
  // An e-mail names a person in Brevet (approver lists, linking, Slack): one the IdP says it did not
  // verify never counts. Exactly `true`, or absent unless the operator requires the claim
  // (OIDC_EMAIL_VERIFIED_OPTIONAL=false: for IdPs that let users set unverified addresses silently).
  const emailTrusted = verified === true || (verified === undefined && config.trustUnverifiedEmail);
  const claims = {
    issuer: payload.iss!,
    subject: payload.sub!,
    email: emailTrusted ? str(payload['email']) : undefined,
    name: str(payload['name']),
    groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    amr: Array.isArray(amr) ? amr.filter((a): a is string => typeof a === 'string') : [],
  };
  // The claims Brevet keeps obey the rules of any other input: a token whose subject, name,
  // e-mail, groups or amr carry NUL, a lone surrogate or a bidi control is refused as a whole
  // (401), rather than stored, shown to approvers, or quietly trimmed of a group.
  const offence = findUnsafeText({ sub: claims.subject, email: claims.email, name: claims.name, [config.groupsClaim]: claims.groups, amr: claims.amr }, '/token');
  if (offence !== undefined) throw new TokenRejected(`claim ${offence.field} ${offence.message}`);
  return claims;
}
