import type { Clock } from '../adapters/clock.js';
import type { SlackGateway } from '../adapters/slack.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { rolesOf, type Caller, type RoleGroups } from '../domain/caller.js';
import { canonicalEmail, matchableByIdentity } from '../domain/identity.js';
import type { AuthDenialRecorder } from '../principals/auth-denials.js';
import { findPersonByEmail, findPersonBySlackUser, lockPrincipal, updatePrincipal, type PrincipalRow } from '../principals/repo.js';

export type SlackIdentity = { ok: true; caller: Caller } | { ok: false; reason: string };

type Deps = { db: Db; clock: Clock; slack: SlackGateway; roles: RoleGroups; authDenials: AuthDenialRecorder };

const DISABLED = 'your Brevet principal is disabled';

/**
 * The Brevet person behind a Slack user (SPEC §8): the person linked to that Slack id, else the
 * person whose canonical email is the Slack profile's email — who is then linked, so later clicks
 * need no lookup. Only persons: a service account is reached by its API keys, never from Slack.
 * Chat proves no MFA and no source address. Refusals that name a principal are audited.
 */
export async function principalForSlackUser(deps: Deps, slackUserId: string): Promise<SlackIdentity> {
  let principal: PrincipalRow | undefined = await findPersonBySlackUser(deps.db, slackUserId);
  if (principal === undefined) {
    let email: string | undefined;
    try {
      email = await deps.slack.userEmail(slackUserId);
    } catch {
      // Slack could not answer (down, rate-limited): refuse this time; the click can be retried.
      return { ok: false, reason: 'Brevet could not read your Slack profile right now; try again in a moment' };
    }
    const byEmail = email === undefined ? undefined : await findPersonByEmail(deps.db, canonicalEmail(email));
    if (byEmail === undefined) return { ok: false, reason: 'your Slack account is not linked to a Brevet principal' };
    if (byEmail.disabled) return refuseDisabled(deps, byEmail, slackUserId);
    principal = await linkByEmail(deps, byEmail.id, slackUserId);
    if (principal === undefined) {
      await deps.authDenials.record({
        principal: { id: byEmail.id, kind: byEmail.kind },
        ownCredential: false,
        via: 'slack',
        reason: 'email-linked-to-another-slack-user',
        sourceIp: null,
        presented: { slackUserId },
      });
      return { ok: false, reason: 'your e-mail belongs to a Brevet principal linked to another Slack account' };
    }
  }
  if (principal.disabled) return refuseDisabled(deps, principal, slackUserId);
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

async function refuseDisabled(deps: Deps, principal: PrincipalRow, slackUserId: string): Promise<SlackIdentity> {
  await deps.authDenials.record({
    principal: { id: principal.id, kind: principal.kind },
    ownCredential: true,
    via: 'slack',
    reason: 'principal-disabled',
    sourceIp: null,
    presented: { slackUserId },
  });
  return { ok: false, reason: DISABLED };
}

/**
 * Links a person found by e-mail to the Slack user, once. The row is re-read under a lock: two
 * first clicks racing must not both link, and a link made meanwhile (by an admin or by another
 * Slack account with the same e-mail) is never overwritten. Undefined when it is taken.
 */
async function linkByEmail(deps: { db: Db; clock: Clock }, principalId: string, slackUserId: string): Promise<PrincipalRow | undefined> {
  try {
    return await deps.db.transaction(async (tx) => {
      const current = await lockPrincipal(tx, principalId);
      if (current === undefined || !matchableByIdentity(current.kind)) return undefined;
      if (current.slackUserId === slackUserId) return current;
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
