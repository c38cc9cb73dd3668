import type { Clock } from '../adapters/clock.js';
import type { SlackGateway } from '../adapters/slack.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
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
    const email = await deps.slack.userEmail(slackUserId);
    const byEmail = email === undefined ? undefined : await findPrincipalByEmail(deps.db, canonicalEmail(email));
    if (byEmail === undefined) return { ok: false, reason: 'your Slack account is not linked to a Brevet principal' };
    if (byEmail.slackUserId !== null) return { ok: false, reason: 'your e-mail belongs to a Brevet principal linked to another Slack account' };
    principal = await deps.db.transaction(async (tx) => {
      const linked = await updatePrincipal(tx, byEmail.id, { slackUserId, updatedAt: deps.clock.now() });
      await appendAudit(tx, deps.clock, {
        actor: { id: byEmail.id, kind: byEmail.kind },
        action: 'principal.linked',
        details: { principalId: byEmail.id, slackUserId, via: 'slack-profile-email' },
      });
      return linked!;
    });
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
