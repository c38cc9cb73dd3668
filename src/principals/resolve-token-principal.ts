import type { Clock } from '../adapters/clock.js';
import type { VerifiedToken } from '../adapters/oidc.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { canonicalEmail, canonicalGroups, isEmail } from '../domain/identity.js';
import { newId } from '../domain/ids.js';
import { Problem } from '../http/problems.js';
import type { AuthDenialRecorder } from './auth-denials.js';
import { findPersonByEmail, findPersonByOidcSubject, insertPrincipal, lockPrincipal, updatePrincipal, type PrincipalRow } from './repo.js';

type Deps = { db: Db; clock: Clock; authDenials: AuthDenialRecorder };

/**
 * Finds the person behind a verified OIDC token, provisioning one on first sight.
 *
 * Matching is by issuer+subject first; a person an admin created ahead of time is linked by
 * canonical email. Only persons are matched (a service account is reached by its API keys only).
 * The verifier passes only verified emails (an unverified one must never take over someone's
 * principal), so a token without one gets a principal without an email. The token's groups are
 * the truth for OIDC persons: they are stored on each change so that Slack clicks, which carry no
 * token, see them too.
 */
export async function resolveTokenPrincipal(deps: Deps, token: VerifiedToken, sourceIp: string | null): Promise<PrincipalRow> {
  const subject = `${token.issuer} ${token.subject}`;
  const email = token.email !== undefined && isEmail(canonicalEmail(token.email)) ? canonicalEmail(token.email) : undefined;
  const groups = canonicalGroups(token.groups);

  let principal = await findPersonByOidcSubject(deps.db, subject);
  if (principal === undefined) principal = await linkOrProvision(deps, token, subject, email, groups, sourceIp);
  // A disabled principal is refused by the caller; its stored record stays as the admin left it.
  if (!principal.disabled && !sameGroups(principal.groups, groups)) principal = await takeTokenGroups(deps, principal.id, groups, sourceIp);
  return principal;
}

/**
 * Stores the groups the identity provider now gives a person, audited as any other change of
 * rights (`principal.updated`, the person as actor, `via: "oidc"`): becoming an admin or an
 * approver through the IdP shows up in the trail like an admin's PATCH does.
 */
async function takeTokenGroups(deps: Deps, principalId: string, groups: string[], sourceIp: string | null): Promise<PrincipalRow> {
  return deps.db.transaction(async (tx) => {
    const before = (await lockPrincipal(tx, principalId))!;
    if (sameGroups(before.groups, groups)) return before;
    const updated = (await updatePrincipal(tx, principalId, { groups, updatedAt: deps.clock.now() }))!;
    await appendAudit(tx, deps.clock, {
      actor: { id: before.id, kind: before.kind },
      action: 'principal.updated',
      sourceIp,
      details: { principalId, changes: { groups }, previous: { groups: before.groups }, via: 'oidc' },
    });
    return updated;
  });
}

async function linkOrProvision(
  deps: Deps,
  token: VerifiedToken,
  subject: string,
  email: string | undefined,
  groups: string[],
  sourceIp: string | null,
): Promise<PrincipalRow> {
  const now = deps.clock.now();
  const outcome = await deps.db.transaction(async (tx): Promise<{ principal: PrincipalRow } | { refused: PrincipalRow }> => {
    const found = email === undefined ? undefined : await findPersonByEmail(tx, email);
    // Locked and read again: two first sign-ins with different subjects must not both link.
    const existing = found === undefined ? undefined : await lockPrincipal(tx, found.id);
    if (existing !== undefined) {
      if (existing.oidcSubject !== null && existing.oidcSubject !== subject) return { refused: existing };
      if (existing.oidcSubject === subject) return { principal: existing };
      const linked = await updatePrincipal(tx, existing.id, { oidcSubject: subject, updatedAt: now });
      await appendAudit(tx, deps.clock, {
        actor: { id: existing.id, kind: existing.kind },
        action: 'principal.linked',
        sourceIp,
        details: { principalId: existing.id, oidcSubject: subject },
      });
      return { principal: linked! };
    }
    const id = newId('prn');
    const inserted = await insertPrincipal(tx, {
      id,
      kind: 'person',
      email: email ?? null,
      oidcSubject: subject,
      displayName: token.name ?? email ?? token.subject,
      groups,
      createdAt: now,
      updatedAt: now,
    });
    if (inserted === undefined) {
      // A concurrent first sign-in won the insert: the same subject (its row is ours), or another
      // subject that took this e-mail first (refused, as any e-mail linked to another identity).
      const winner = await findPersonByOidcSubject(tx, subject);
      if (winner !== undefined) return { principal: winner };
      const holder = email === undefined ? undefined : await findPersonByEmail(tx, email);
      if (holder !== undefined) return { refused: holder };
      throw new Problem('unavailable', 'the sign-in raced with another; try again');
    }
    await appendAudit(tx, deps.clock, {
      actor: { id, kind: 'person' },
      action: 'principal.provisioned',
      sourceIp,
      details: { principalId: id, oidcSubject: subject, email: inserted.email, groups },
    });
    return { principal: inserted };
  });
  if ('principal' in outcome) return outcome.principal;
  await deps.authDenials.record({
    principal: { id: outcome.refused.id, kind: outcome.refused.kind },
    ownCredential: false,
    via: 'oidc',
    reason: 'email-linked-to-another-identity',
    sourceIp,
    presented: { oidcSubject: subject },
  });
  throw new Problem('unauthenticated', 'this email belongs to another identity');
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((g, i) => g === b[i]);
}
