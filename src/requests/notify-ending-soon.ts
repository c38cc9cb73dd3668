import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { scheduleChanges, type RecordedChange, type RequestEffects } from './effects.js';
import { lockRequest, updateRequest } from './repo.js';

/** How long before the window end the requester is told it is ending. */
export const ENDING_NOTICE_SECONDS = 300;

export function endingNoticeAt(endsAt: Date): Date {
  return new Date(endsAt.getTime() - ENDING_NOTICE_SECONDS * 1000);
}

/**
 * Tells the requester, once, that an active window ends soon (SPEC §8). `endingNoticeAt` is set
 * in the transaction that audits it, so jobs, retries and the reconciler cannot say it twice.
 */
export async function notifyEndingSoon(deps: { db: Db; clock: Clock; effects: RequestEffects }, requestId: string): Promise<boolean> {
  const now = deps.clock.now();
  const noticed = await deps.db.transaction(async (tx): Promise<RecordedChange | undefined> => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined || request.status !== 'active' || request.endsAt === null || request.endingNoticeAt !== null) return undefined;
    if (endingNoticeAt(request.endsAt) > now || request.endsAt <= now) return undefined;
    await updateRequest(tx, requestId, { endingNoticeAt: now, updatedAt: now });
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: 'request.ending-soon',
      requestId,
      profileId: request.profileId,
      details: { endsAt: request.endsAt.toISOString() },
    });
    return deps.effects.record(tx, { requestId, events: ['request.ending-soon'] });
  });
  if (noticed === undefined) return false;
  await scheduleChanges(deps.effects, [noticed]);
  return true;
}
