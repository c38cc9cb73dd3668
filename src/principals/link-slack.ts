import type { Clock } from '../adapters/clock.js';
import type { SlackGateway } from '../adapters/slack.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Caller } from '../domain/caller.js';
import { canonicalEmail } from '../domain/identity.js';
import { Problem } from '../http/problems.js';
import { findPrincipal, updatePrincipal, type PrincipalRow } from './repo.js';

/**
 * A person links their own Slack account. Slack clicks then act as this principal, so the link
 * must be theirs: the Slack profile's e-mail has to be the principal's e-mail. Otherwise anyone
 * could claim a colleague's Slack id and have that colleague's approvals counted as their own.
 */
export async function linkOwnSlackUser(
  deps: { db: Db; clock: Clock; slack: SlackGateway | undefined },
  caller: Caller,
  slackUserId: string | null,
): Promise<PrincipalRow> {
  if (slackUserId !== null) {
    if (deps.slack === undefined) throw new Problem('conflict', 'Slack is not configured on this Brevet');
    // A Slack that cannot answer is not evidence against the caller: 503, try again.
    const email = await deps.slack.userEmail(slackUserId).catch(() => {
      throw new Problem('unavailable', 'Slack could not be asked for that user; try again later');
    });
    if (caller.email === null || email === undefined || canonicalEmail(email) !== canonicalEmail(caller.email)) {
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
        details: { principalId: caller.id, changes: { slackUserId }, previous: { slackUserId: before?.slackUserId ?? null } },
      });
      return updated!;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new Problem('conflict', 'that Slack user is linked to another principal');
    throw error;
  }
}
