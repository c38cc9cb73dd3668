import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import type { RequestEffects } from './effects.js';
import { lockRequest, updateRequest } from './repo.js';

/**
 * Reminds the approvers of a request still pending at its remind time, once: `remindedAt`
 * is set in the same transaction that audits it, so a retried job or the reconciler cannot
 * remind twice. The reminder itself goes out through the effects (webhooks, Slack).
 */
export async function remindApprovers(deps: { db: Db; clock: Clock; effects: RequestEffects }, requestId: string): Promise<boolean> {
  const now = deps.clock.now();
  const reminded = await deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined || request.status !== 'pending') return false;
    if (request.remindAt === null || request.remindAt > now || request.remindedAt !== null) return false;
    await updateRequest(tx, requestId, { remindedAt: now, updatedAt: now });
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: 'request.reminded',
      requestId,
      profileId: request.profileId,
      details: { pendingExpiresAt: request.pendingExpiresAt.toISOString() },
    });
    return true;
  });
  if (reminded) await deps.effects.afterCommit({ requestId, events: ['request.reminded'] });
  return reminded;
}
