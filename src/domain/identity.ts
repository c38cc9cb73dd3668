/**
 * Identities are compared in canonical form only (SPEC §3 rule 10): `Alice@X.com` and
 * ` alice@x.com` are one person. Unicode is NFKC-normalised so look-alike compositions fold too.
 */
export function canonicalEmail(raw: string): string {
  return raw.normalize('NFKC').trim().toLowerCase();
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isEmail(value: string): boolean {
  return EMAIL.test(value) && value.length <= 254;
}

/** Group names are matched exactly after trimming; they come from an IdP, not from users. */
export function canonicalGroups(groups: readonly string[]): string[] {
  return [...new Set(groups.map((g) => g.trim()).filter((g) => g !== ''))].sort();
}
