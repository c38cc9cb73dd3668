import { canonicalEmail } from './identity.js';

/** A set of principals named by group or by principal (id or email). */
export interface Audience {
  groups: readonly string[];
  principals: readonly string[];
}

export interface Who {
  id: string;
  email: string | null;
  groups: readonly string[];
}

/**
 * Membership by canonical identity (SPEC §3 rule 10): principal entries match the principal id
 * or the canonical email, never a raw string as typed.
 */
export function isInAudience(audience: Audience, who: Who): boolean {
  if (who.groups.some((group) => audience.groups.includes(group))) return true;
  const email = who.email === null ? null : canonicalEmail(who.email);
  return audience.principals.some((entry) => entry === who.id || (email !== null && canonicalEmail(entry) === email));
}

/** Canonical form of an audience's principal entries, as stored in a profile version. */
export function canonicalPrincipalEntries(entries: readonly string[]): string[] {
  const canonical = entries.map((entry) => (entry.includes('@') ? canonicalEmail(entry) : entry.trim()));
  // A blank entry names nobody; kept, it would satisfy "name at least one" while naming no one.
  return [...new Set(canonical.filter((entry) => entry !== ''))];
}
