import type { LifecycleEvent } from '../domain/lifecycle.js';

export type NotifiableEvent = LifecycleEvent | 'request.created' | 'request.reminded' | 'request.ending-soon' | 'request.extended' | 'request.escalated';

/** A committed change of a request, for what follows it outside the transaction. */
export interface RequestChange {
  requestId: string;
  events: readonly NotifiableEvent[];
}

/**
 * What happens after a transition commits: jobs are scheduled (window end, expiry, reminders)
 * and notifications sent. Never inside the transaction: no network call holds a row lock.
 */
export interface RequestEffects {
  afterCommit(change: RequestChange): Promise<void>;
}
