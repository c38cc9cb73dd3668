import type { Clock } from '../adapters/clock.js';
import type { SlackGateway } from '../adapters/slack.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Caller } from '../domain/caller.js';
import { canonicalEmail, matchableByIdentity } from '../domain/identity.js';
import { Problem } from '../http/problems.js';
import { findPrincipal, updatePrincipal, type PrincipalRow } from './repo.js';

/**
 * A person links their own Slack account. Slack clicks then act as this principal, so the link
 * must be theirs: where Brevet can ask Slack (SLACK_BOT_TOKEN), the Slack profile's e-mail has to
 * be the principal's e-mail. Otherwise anyone could claim a colleague's Slack id and have that
 * colleague's approvals counted as their own. Without a bot token Brevet cannot ask, posts no
 * messages to click, and links as told (SPEC §7), audited as `verified: false`.
 * A service account is never linked (it is reached by its API keys only). Refusals are audited.
 */
export async function linkOwnSlackUser(
  deps: { db: Db; clock: Clock; slack: SlackGateway | undefined },
  caller: Caller,
  slackUserId: string | null,
): Promise<PrincipalRow> {
  if (slackUserId !== null) {
    if (!matchableByIdentity(caller.kind)) {
      await refuseLink(deps, caller, slackUserId, 'service-account');
      throw new Problem('forbidden', 'a service account is reached by its API keys only; it cannot be linked to Slack');
    }
  }
  if (slackUserId !== null && deps.slack !== undefined) {
    // A Slack that cannot answer is not evidence against the caller: 503, try again.
    const email = await deps.slack.userEmail(slackUserId).catch(() => {
      throw new Problem('unavailable', 'Slack could not be asked for that user; try again later');
    });
    if (caller.email === null || email === undefined || canonicalEmail(email) !== canonicalEmail(caller.email)) {
      await refuseLink(deps, caller, slackUserId, 'slack-email-not-yours');
      throw new Problem('forbidden', "that Slack user's e-mail is not yours; ask an admin to link it");
    }
  }
  try {
    return await deps.db.transaction(async (tx) => {
      const before = await findPrincipal(tx, caller.id);
      const updated = await updatePrincipal(tx, caller.id, { slackUserId, updatedAt: deps.clock.now() });
      await appendAudit(tx, deps.clock, {
        actor: { id: caller.id, kind: caller.kind },
        action: 'principal.updated',
        sourceIp: caller.sourceIp,
        details: {
          principalId: caller.id,
          changes: { slackUserId },
          previous: { slackUserId: before?.slackUserId ?? null },
          ...(slackUserId !== null && deps.slack === undefined ? { verified: false } : {}),
        },
      });
      return updated!;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new Problem('conflict', 'that Slack user is linked to another principal');
    throw error;
  }
}

async function refuseLink(deps: { db: Db; clock: Clock }, caller: Caller, slackUserId: string, reason: string): Promise<void> {
  await deps.db.transaction((tx) =>
    appendAudit(tx, deps.clock, {
      actor: { id: caller.id, kind: caller.kind },
      action: 'principal.link-refused',
      sourceIp: caller.sourceIp,
      details: { principalId: caller.id, slackUserId, reason },
    }),
  );
}
