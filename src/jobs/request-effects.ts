import type { Logger } from 'pino';
import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import type { RequestEffects } from '../requests/effects.js';
import { endingNoticeAt } from '../requests/notify-ending-soon.js';
import { findRequest, reviewsOf, type RequestRow } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { recordDeliveries, recordTargetDeliveries, type WebhookConfig } from '../webhooks/deliveries.js';
import type { ScheduledJob } from './catalog.js';
import type { JobScheduler } from './queue.js';

/** Events the requester hears about in a Slack direct message (SPEC §8). */
const REQUESTER_EVENTS = new Set(['request.approved', 'request.denied', 'request.activated', 'request.expired', 'request.revoked', 'request.ending-soon', 'request.extended']);

/** Jobs whose moment an extension moves: they are moved, not merely scheduled (see JobScheduler.reschedule). */
const MOVED_BY_EXTENSION = new Set(['end', 'ending-soon']);

/** The timed work a request in its current state is waiting for. */
export function dueJobsOf(request: RequestRow): ScheduledJob[] {
  const payload = { requestId: request.id };
  const jobs: ScheduledJob[] = [];
  switch (request.status) {
    case 'pending':
      jobs.push({ name: 'expire-pending', payload, runAt: request.pendingExpiresAt });
      if (request.remindAt !== null && request.remindedAt === null) jobs.push({ name: 'remind', payload, runAt: request.remindAt });
      if (request.escalateAt !== null) jobs.push({ name: 'escalate', payload, runAt: request.escalateAt });
      break;
    case 'approved':
      if (request.startsAt !== null) jobs.push({ name: 'activate', payload, runAt: request.startsAt });
      if (request.endsAt !== null) jobs.push({ name: 'end', payload, runAt: request.endsAt });
      break;
    case 'active':
      if (request.endsAt !== null) jobs.push({ name: 'end', payload, runAt: request.endsAt });
      if (request.endsAt !== null && request.endingNoticeAt === null) {
        jobs.push({ name: 'ending-soon', payload, runAt: endingNoticeAt(request.endsAt) });
      }
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
  /** Slack is configured (SLACK_BOT_TOKEN): messages follow requests and requesters get DMs. */
  slack: boolean;
}): RequestEffects {
  return {
    async afterCommit(change) {
      try {
        const request = await findRequest(deps.db, change.requestId);
        if (request === undefined) return;
        const jobs = deps.scheduler === undefined ? [] : dueJobsOf(request);
        const view = requestView(request, await reviewsOf(deps.db, [request.id]));
        const now = deps.clock.now();
        const deliveryIds: string[] = [];
        for (const event of change.events) {
          deliveryIds.push(...(await recordDeliveries(deps.db, now, deps.webhooks, { event, requestId: request.id, payload: { request: view } })));
          if (deps.slack && REQUESTER_EVENTS.has(event)) {
            deliveryIds.push(...(await recordTargetDeliveries(deps.db, now, ['slack:requester'], { event, requestId: request.id, payload: { requestId: request.id, event } })));
          }
        }
        if (deps.slack && change.events.includes('request.escalated')) {
          // DMs reach the new tier through the message sync below; a channel gets a reply in its thread.
          deliveryIds.push(...(await recordTargetDeliveries(deps.db, now, ['slack:escalation'], { event: 'request.escalated', requestId: request.id, payload: { requestId: request.id, event: 'request.escalated' } })));
        }
        if (deps.slack && change.events.includes('request.reminded')) {
          deliveryIds.push(...(await recordTargetDeliveries(deps.db, now, ['slack:reminder'], { event: 'request.reminded', requestId: request.id, payload: { requestId: request.id, event: 'request.reminded' } })));
        }
        if (deps.slack && change.events.length > 0) {
          const event = change.events.at(-1)!;
          deliveryIds.push(...(await recordTargetDeliveries(deps.db, now, ['slack:messages'], { event, requestId: request.id, payload: { requestId: request.id, event } })));
        }
        jobs.push(...deliveryIds.map((deliveryId) => ({ name: 'notify' as const, payload: { deliveryId }, runAt: now })));
        const extended = change.events.includes('request.extended');
        for (const job of jobs) {
          if (extended && MOVED_BY_EXTENSION.has(job.name)) await deps.scheduler?.reschedule(job);
          else await deps.scheduler?.schedule(job);
        }
      } catch (error) {
        deps.logger.warn({ err: error, requestId: change.requestId }, 'scheduling after commit failed; the reconciler will catch up');
      }
    },
  };
}
