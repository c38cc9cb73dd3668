import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { scheduleChanges, type RecordedChange, type RequestEffects } from './effects.js';
import { lockRequest, updateRequest } from './repo.js';

/**
 * Reminds the approvers of a request still pending at its remind time, once: `remindedAt`
 * is set in the same transaction that audits it, so a retried job or the reconciler cannot
 * remind twice. The reminder itself goes out through the effects (webhooks, Slack).
 */
export async function remindApprovers(deps: { db: Db; clock: Clock; effects: RequestEffects }, requestId: string): Promise<boolean> {
  const now = deps.clock.now();
  const reminded = await deps.db.transaction(async (tx): Promise<RecordedChange | undefined> => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined || request.status !== 'pending') return undefined;
    if (request.remindAt === null || request.remindAt > now || request.remindedAt !== null) return undefined;
    await updateRequest(tx, requestId, { remindedAt: now, updatedAt: now });
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: 'request.reminded',
      requestId,
      profileId: request.profileId,
      details: { pendingExpiresAt: request.pendingExpiresAt.toISOString() },
    });
    return deps.effects.record(tx, { requestId, events: ['request.reminded'] });
  });
  if (reminded === undefined) return false;
  await scheduleChanges(deps.effects, [reminded]);
  return true;
}
