import type { Clock } from '../adapters/clock.js';
import { systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { decide } from '../domain/lifecycle.js';
import { applyDecision, factsOf } from './apply-decision.js';
import { recordChanges, scheduleChanges, type RequestEffects } from './effects.js';
import { lockRequestNamed } from './repo.js';

export type TimedCommand = 'activate' | 'end' | 'expire';

/**
 * Runs a transition that time triggers (window start, window end, pending TTL) as `system`.
 * Idempotent: it re-reads the locked row and does nothing when the state moved on or the
 * moment has not come, so jobs, retries and the reconciler may all call it for one request.
 * Returns whether it changed the request.
 */
export async function runTimedTransition(
  deps: { db: Db; clock: Clock; effects: RequestEffects },
  requestId: string,
  command: TimedCommand,
): Promise<boolean> {
  const outcome = await deps.db.transaction(async (tx) => {
    const locked = await lockRequestNamed(tx, requestId);
    if (locked === undefined) return undefined;
    const { request, profileName } = locked;
    const decision = decide(factsOf(request, []), { kind: command }, deps.clock.now());
    if (!decision.ok) return undefined;
    const applied = await applyDecision(tx, deps.clock, request, decision, { actor: systemActor, sourceIp: null });
    const change = { requestId, events: decision.events, known: { request: applied.request, profileName } };
    return recordChanges(deps.effects, tx, [change, ...applied.followUps]);
  });
  if (outcome === undefined) return false;
  await scheduleChanges(deps.effects, outcome);
  return true;
}
