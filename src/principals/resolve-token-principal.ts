import type { Clock } from '../adapters/clock.js';
import type { VerifiedToken } from '../adapters/oidc.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { canonicalEmail, canonicalGroups, isEmail } from '../domain/identity.js';
import { newId } from '../domain/ids.js';
import { Problem } from '../http/problems.js';
import {
  findPrincipalByEmail,
  findPrincipalByOidcSubject,
  insertPrincipal,
  updatePrincipal,
  type PrincipalRow,
} from './repo.js';

/**
 * Finds the principal behind a verified OIDC token, provisioning it on first sight.
 *
 * Matching is by issuer+subject first; a principal an admin created ahead of time is linked
 * by canonical email. The verifier passes only verified emails (an unverified one must never
 * take over someone's principal), so a token without one gets a principal without an email. The token's groups are the truth for OIDC persons:
 * they are stored on each change so that Slack clicks, which carry no token, see them too.
 */
export async function resolveTokenPrincipal(
  deps: { db: Db; clock: Clock },
  token: VerifiedToken,
  sourceIp: string | null,
): Promise<PrincipalRow> {
  const subject = `${token.issuer} ${token.subject}`;
  const email = token.email !== undefined && isEmail(canonicalEmail(token.email)) ? canonicalEmail(token.email) : undefined;
  const groups = canonicalGroups(token.groups);

  let principal = await findPrincipalByOidcSubject(deps.db, subject);
  if (principal === undefined) principal = await linkOrProvision(deps, token, subject, email, groups, sourceIp);
  // A disabled principal is refused by the caller; its stored record stays as the admin left it.
  if (!principal.disabled && !sameGroups(principal.groups, groups)) {
    principal = (await updatePrincipal(deps.db, principal.id, { groups, updatedAt: deps.clock.now() })) ?? principal;
  }
  return principal;
}

async function linkOrProvision(
  deps: { db: Db; clock: Clock },
  token: VerifiedToken,
  subject: string,
  email: string | undefined,
  groups: string[],
  sourceIp: string | null,
): Promise<PrincipalRow> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const existing = email === undefined ? undefined : await findPrincipalByEmail(tx, email);
    if (existing !== undefined) {
      if (existing.oidcSubject !== null && existing.oidcSubject !== subject) {
        throw new Problem('unauthenticated', 'this email belongs to another identity');
      }
      const linked = await updatePrincipal(tx, existing.id, { oidcSubject: subject, updatedAt: now });
      await appendAudit(tx, deps.clock, {
        actor: { id: existing.id, kind: existing.kind },
        action: 'principal.linked',
        sourceIp,
        details: { principalId: existing.id, oidcSubject: subject },
      });
      return linked!;
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
    // A concurrent first request of the same person won the insert: use its row.
    if (inserted === undefined) return (await findPrincipalByOidcSubject(tx, subject))!;
    await appendAudit(tx, deps.clock, {
      actor: { id, kind: 'person' },
      action: 'principal.provisioned',
      sourceIp,
      details: { principalId: id, oidcSubject: subject, email: inserted.email, groups },
    });
    return inserted;
  });
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((g, i) => g === b[i]);
}
