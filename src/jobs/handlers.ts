import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import type { WebhookSender } from '../adapters/webhook-sender.js';
import type { Db } from '../db/client.js';
import { removeDenyPolicy } from '../credentials/deny-policy-revocation.js';
import type { RequestEffects } from '../requests/effects.js';
import { notifyEndingSoon } from '../requests/notify-ending-soon.js';
import { escalateRequest } from '../requests/escalate-request.js';
import { remindApprovers } from '../requests/remind-approvers.js';
import { findRequest } from '../requests/repo.js';
import { runTimedTransition } from '../requests/run-timed-transition.js';
import { attemptDelivery, type WebhookConfig } from '../webhooks/deliveries.js';
import { runActivityPass, type ActivityDeps } from '../evidence/run-activity-pass.js';
import type { JobName, JobPayload } from './catalog.js';
import { dueJobsOf } from './request-effects.js';

export interface JobDeps extends ActivityDeps {
  db: Db;
  clock: Clock;
  effects: RequestEffects;
  rolePolicies: RolePolicyStore;
  webhookSender: WebhookSender;
  webhooks: WebhookConfig;
}

/** What the runner should do after a handler: nothing, retry later (failure), or run again at a time. */
export type JobResult = { kind: 'done' } | { kind: 'retry'; reason: string } | { kind: 'later'; runAt: Date };

/**
 * Runs one job. Handlers are idempotent: each re-reads the request and does nothing when the
 * work is done or the state moved on. A job that arrives before its moment (clocks differ
 * between hosts) asks to run again at the moment instead of being lost.
 */
export async function runJob(deps: JobDeps, name: JobName, payload: JobPayload): Promise<JobResult> {
  if (name === 'notify') {
    if (!('deliveryId' in payload)) return { kind: 'done' };
    const outcome = await attemptDelivery(deps, deps.webhooks, payload.deliveryId);
    return outcome === 'retry' ? { kind: 'retry', reason: 'webhook delivery failed' } : { kind: 'done' };
  }
  if (!('requestId' in payload)) return { kind: 'done' };
  const requestId = payload.requestId;
  if (name === 'activity') {
    // Its moments live in activity_reports (the report's next pass), not on the request row.
    const next = await runActivityPass(deps, requestId);
    return next === undefined ? { kind: 'done' } : { kind: 'later', runAt: next.runAt };
  }
  const changed = await runRequestJob(deps, name, requestId);
  if (changed) return { kind: 'done' };
  // Not done: still waiting for its moment? Then run again then; otherwise it is moot.
  const request = await findRequest(deps.db, requestId);
  const pending = request === undefined ? undefined : dueJobsOf(request).find((job) => job.name === name);
  return pending !== undefined && pending.runAt > deps.clock.now() ? { kind: 'later', runAt: pending.runAt } : { kind: 'done' };
}

function runRequestJob(deps: JobDeps, name: Exclude<JobName, 'notify' | 'activity'>, requestId: string): Promise<boolean> {
  switch (name) {
    case 'activate':
      return runTimedTransition(deps, requestId, 'activate');
    case 'end':
      return runTimedTransition(deps, requestId, 'end');
    case 'expire-pending':
      return runTimedTransition(deps, requestId, 'expire');
    case 'remind':
      return remindApprovers(deps, requestId);
    case 'escalate':
      return escalateRequest(deps, requestId);
    case 'revocation-cleanup':
      return removeDenyPolicy(deps, requestId);
    case 'ending-soon':
      return notifyEndingSoon(deps, requestId);
  }
}
