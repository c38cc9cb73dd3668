import { eq } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { SlackGateway } from '../adapters/slack.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { principals } from '../db/schema.js';
import { rolesOf, type Caller, type RoleGroups } from '../domain/caller.js';
import { canonicalEmail } from '../domain/identity.js';
import { findPrincipalByEmail, findPrincipalBySlackUser, updatePrincipal, type PrincipalRow } from '../principals/repo.js';

export type SlackIdentity = { ok: true; caller: Caller } | { ok: false; reason: string };

/**
 * The Brevet principal behind a Slack user (SPEC §8): the principal linked to that Slack id,
 * else the principal whose canonical email is the Slack profile's email — which is then linked,
 * so later clicks need no lookup. Chat proves no MFA and no source address.
 */
export async function principalForSlackUser(
  deps: { db: Db; clock: Clock; slack: SlackGateway; roles: RoleGroups },
  slackUserId: string,
): Promise<SlackIdentity> {
  let principal: PrincipalRow | undefined = await findPrincipalBySlackUser(deps.db, slackUserId);
  if (principal === undefined) {
    let email: string | undefined;
    try {
      email = await deps.slack.userEmail(slackUserId);
    } catch {
      // Slack could not answer (down, rate-limited): refuse this time; the click can be retried.
      return { ok: false, reason: 'Brevet could not read your Slack profile right now; try again in a moment' };
    }
    const byEmail = email === undefined ? undefined : await findPrincipalByEmail(deps.db, canonicalEmail(email));
    if (byEmail === undefined) return { ok: false, reason: 'your Slack account is not linked to a Brevet principal' };
    if (byEmail.disabled) return { ok: false, reason: 'your Brevet principal is disabled' };
    principal = await linkByEmail(deps, byEmail.id, slackUserId);
    if (principal === undefined) return { ok: false, reason: 'your e-mail belongs to a Brevet principal linked to another Slack account' };
  }
  if (principal.disabled) return { ok: false, reason: 'your Brevet principal is disabled' };
  return {
    ok: true,
    caller: {
      id: principal.id,
      kind: principal.kind,
      email: principal.email,
      displayName: principal.displayName,
      groups: principal.groups,
      amr: [],
      via: 'slack',
      sourceIp: null,
      ...rolesOf(principal.groups, deps.roles),
    },
  };
}

/**
 * Links a principal found by e-mail to the Slack user, once. The principal row is re-read under a
 * lock: two first clicks racing must not both link, and a link made meanwhile (by an admin or by
 * another Slack account with the same e-mail) is never overwritten. Undefined when it is taken.
 */
async function linkByEmail(deps: { db: Db; clock: Clock }, principalId: string, slackUserId: string): Promise<PrincipalRow | undefined> {
  try {
    return await deps.db.transaction(async (tx) => {
      const [current] = await tx.select().from(principals).where(eq(principals.id, principalId)).for('update');
      if (current === undefined || current.slackUserId === slackUserId) return current;
      if (current.slackUserId !== null) return undefined;
      const linked = await updatePrincipal(tx, principalId, { slackUserId, updatedAt: deps.clock.now() });
      await appendAudit(tx, deps.clock, {
        actor: { id: current.id, kind: current.kind },
        action: 'principal.linked',
        details: { principalId: current.id, slackUserId, via: 'slack-profile-email' },
      });
      return linked;
    });
  } catch (error) {
    // The Slack user was linked to another principal meanwhile: it is not this one's to take.
    if (isUniqueViolation(error)) return undefined;
    throw error;
  }
}
