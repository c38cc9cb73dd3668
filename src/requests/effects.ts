import type { LifecycleEvent } from '../domain/lifecycle.js';

/** A committed change of a request, for what follows it outside the transaction. */
export interface RequestChange {
  requestId: string;
  events: readonly (LifecycleEvent | 'request.created')[];
}

/**
 * What happens after a transition commits: jobs are scheduled (window end, expiry, reminders)
 * and notifications sent. Never inside the transaction: no network call holds a row lock.
 */
export interface RequestEffects {
  afterCommit(change: RequestChange): Promise<void>;
}

/**
 * Without a queue, nothing is scheduled ahead: the database reconciler finds due work by
 * polling (dev mode, SPEC §5), so there is nothing to do after commit.
 */
export const reconcilerOnlyEffects: RequestEffects = {
  async afterCommit() {},
};
