import type { Logger } from 'pino';
import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import type { RequestEffects } from '../requests/effects.js';
import { findRequest, reviewsOf, type RequestRow } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { recordDeliveries, type WebhookConfig } from '../webhooks/deliveries.js';
import type { ScheduledJob } from './catalog.js';
import type { JobScheduler } from './queue.js';

/** The timed work a request in its current state is waiting for. */
export function dueJobsOf(request: RequestRow): ScheduledJob[] {
  const payload = { requestId: request.id };
  const jobs: ScheduledJob[] = [];
  switch (request.status) {
    case 'pending':
      jobs.push({ name: 'expire-pending', payload, runAt: request.pendingExpiresAt });
      if (request.remindAt !== null && request.remindedAt === null) jobs.push({ name: 'remind', payload, runAt: request.remindAt });
      break;
    case 'approved':
      if (request.startsAt !== null) jobs.push({ name: 'activate', payload, runAt: request.startsAt });
      if (request.endsAt !== null) jobs.push({ name: 'end', payload, runAt: request.endsAt });
      break;
    case 'active':
      if (request.endsAt !== null) jobs.push({ name: 'end', payload, runAt: request.endsAt });
      break;
    default:
      break;
  }
  if (request.denyPolicyStatus === 'applied' && request.revocationCleanupAt !== null) {
    jobs.push({ name: 'revocation-cleanup', payload, runAt: request.revocationCleanupAt });
  }
  return jobs;
}

/**
 * After a request changes: schedule its timed jobs (when there is a queue) and record one
 * webhook delivery per event and URL. Everything here is also found by the reconciler, so a
 * failure is logged and never undoes or fails the committed change.
 */
export function createRequestEffects(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  scheduler: JobScheduler | undefined;
  webhooks: WebhookConfig;
}): RequestEffects {
  return {
    async afterCommit(change) {
      try {
        const request = await findRequest(deps.db, change.requestId);
        if (request === undefined) return;
        const jobs = deps.scheduler === undefined ? [] : dueJobsOf(request);
        const view = requestView(request, await reviewsOf(deps.db, [request.id]));
        const now = deps.clock.now();
        for (const event of change.events) {
          const ids = await recordDeliveries(deps.db, now, deps.webhooks, { event, requestId: request.id, payload: { request: view } });
          jobs.push(...ids.map((deliveryId) => ({ name: 'notify' as const, payload: { deliveryId }, runAt: now })));
        }
        for (const job of jobs) await deps.scheduler?.schedule(job);
      } catch (error) {
        deps.logger.warn({ err: error, requestId: change.requestId }, 'scheduling after commit failed; the reconciler will catch up');
      }
    },
  };
}
