import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { nextEscalationAt, tiersDue } from '../domain/escalation.js';
import { findProfileVersion } from '../profiles/repo.js';
import { scheduleChanges, type RecordedChange, type RequestEffects } from './effects.js';
import { lockRequest, updateRequest } from './repo.js';

/**
 * Announces the escalation tiers whose moment has come for a request still pending (SPEC §12):
 * audited `request.escalated` by `system`, then notified through the effects (webhook, Slack where
 * the profile's approvals go). The tier's right to review does not wait for this: it is a rule of
 * time (domain/request-access.ts); this is the notice. `escalatedTiers` moves in the transaction
 * that audits it, so jobs, retries and the reconciler announce each tier once.
 */
export async function escalateRequest(deps: { db: Db; clock: Clock; effects: RequestEffects }, requestId: string): Promise<boolean> {
  const now = deps.clock.now();
  const escalated = await deps.db.transaction(async (tx): Promise<RecordedChange | undefined> => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined || request.status !== 'pending' || request.escalateAt === null || request.escalateAt > now) return undefined;
    // The TTL ends the time for reviews: an overdue request is about to expire, not to escalate.
    if (request.pendingExpiresAt <= now) return undefined;
    const definition = (await findProfileVersion(tx, request.profileId, request.profileVersion))!;
    const tiers = definition.approval.escalation;
    const due = tiersDue(tiers, request.escalatedTiers, request.createdAt, now);
    const announced = request.escalatedTiers + due.length;
    await updateRequest(tx, requestId, {
      escalatedTiers: announced,
      escalateAt: nextEscalationAt(tiers, announced, request.createdAt, request.pendingExpiresAt),
      updatedAt: now,
    });
    for (const tier of due) {
      await appendAudit(tx, deps.clock, {
        actor: systemActor,
        action: 'request.escalated',
        requestId,
        profileId: request.profileId,
        details: tier,
      });
    }
    return deps.effects.record(tx, { requestId, events: due.length > 0 ? ['request.escalated'] : [] });
  });
  if (escalated === undefined) return false;
  await scheduleChanges(deps.effects, [escalated]);
  return escalated.events.length > 0;
}
