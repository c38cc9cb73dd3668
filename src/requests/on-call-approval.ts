import type { Logger } from 'pino';
import type { OnCallProviders } from '../adapters/on-call/provider.js';
import type { Caller } from '../domain/caller.js';
import type { OnCallPolicy } from '../domain/profile.js';
import { withTimeout } from '../lib/with-timeout.js';

/** SPEC §12: PagerDuty gets 3 s in all (both calls) while the requester waits. */
export const ON_CALL_BUDGET_MS = 3_000;

export interface OnCallDeps {
  onCall: OnCallProviders;
  logger: Logger;
  /** Counts lookups that failed or ran out of time (brevet_oncall_lookup_failures_total). */
  onCallFailures: { inc(labels: { provider: string }): void };
  /** Tests shorten the budget to see a hanging provider given up; production keeps ON_CALL_BUDGET_MS. */
  onCallBudgetMs?: number;
}

/**
 * The schedule that makes this request approved at creation: the requester is on call now in one
 * of the profile's schedules. Null when not, and when the answer cannot be had in time — then the
 * request is created pending as usual: the failure is logged and counted, never the requester's
 * problem. The answer is never cached (on call changes by the minute), and one that arrives after
 * the budget is dropped: the abort closes the connection, and the race ignores it.
 */
export async function onCallScheduleOf(deps: OnCallDeps, caller: Caller, policy: OnCallPolicy | null): Promise<string | null> {
  if (policy === null || caller.kind !== 'person' || caller.email === null) return null;
  const provider = deps.onCall[policy.provider];
  if (provider === undefined) {
    deps.logger.warn({ provider: policy.provider }, 'on-call approval skipped: the provider is not configured');
    deps.onCallFailures.inc({ provider: policy.provider });
    return null;
  }
  const budgetMs = deps.onCallBudgetMs ?? ON_CALL_BUDGET_MS;
  const abort = new AbortController();
  try {
    return await withTimeout(provider.onCallSchedule(caller.email, policy.scheduleIds, abort.signal), budgetMs, `${policy.provider} on-call lookup`);
  } catch (error) {
    deps.logger.warn({ err: error, provider: policy.provider, requesterId: caller.id }, 'on-call lookup failed; the request waits for its approvers');
    deps.onCallFailures.inc({ provider: policy.provider });
    return null;
  } finally {
    abort.abort();
  }
}
