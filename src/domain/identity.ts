/**
 * Identities are compared in canonical form only (SPEC §3 rule 10): `Alice@X.com` and
 * ` alice@x.com` are one person. Unicode is NFKC-normalised so look-alike compositions fold too.
 */
export function canonicalEmail(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/**
 * Characters that show as nothing (zero-width space and joiners, soft hyphen, word joiner, BOM,
 * bidi marks, variation selectors…) and controls: `al\u200bice@x.com` reads as Alice's address
 * but would be another principal, so no address holding one is an e-mail here.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

export function isEmail(value: string): boolean {
  return EMAIL.test(value) && value.length <= 254 && !INVISIBLE.test(value);
}

/** Group names are matched exactly after trimming; they come from an IdP, not from users. */
export function canonicalGroups(groups: readonly string[]): string[] {
  return [...new Set(groups.map((g) => g.trim()).filter((g) => g !== ''))].sort();
}

export type PrincipalKind = 'person' | 'service';

/**
 * Only persons are ever found by an identity someone else vouches for — an e-mail, an OIDC
 * subject, a Slack user. A service account is reached by its API keys only: were it matched by
 * e-mail, whoever signs in (or is seen in Slack) with that e-mail would become the service account
 * and could fetch its credentials. The database holds the same line (principals_service_identity_check).
 */
export function matchableByIdentity(kind: PrincipalKind): boolean {
  return kind === 'person';
}
