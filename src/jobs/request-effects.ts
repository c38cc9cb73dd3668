import type { Logger } from 'pino';
import type { Clock } from '../adapters/clock.js';
import type { NotifiableEvent, RequestEffects } from '../requests/effects.js';
import type { Executor } from '../principals/repo.js';
import { endingNoticeAt } from '../requests/notify-ending-soon.js';
import { findRequest, reviewsOf, type RequestRow } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { findActivityReport, openActivityReport } from '../evidence/activity-repo.js';
import { activityView } from '../evidence/activity-view.js';
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
 * The outbox of a request's changes (see RequestEffects): one webhook delivery per event and URL,
 * and the Slack deliveries (message sync, requester DMs, reminders, escalations), written in the
 * change's transaction; after commit, its timed jobs and those deliveries go to the queue (when
 * there is one). A scheduling failure is logged and never undoes or fails the committed change:
 * the reconciler finds both the due timed work and the deliveries no job ever picked up.
 */
export function createRequestEffects(deps: {
  clock: Clock;
  logger: Logger;
  scheduler: JobScheduler | undefined;
  webhooks: WebhookConfig;
  /** Slack is configured (SLACK_BOT_TOKEN): messages follow requests and requesters get DMs. */
  slack: boolean;
  /** BREVET_EVIDENCE: a grant whose access ended gets its CloudTrail activity report (SPEC §13). */
  activityReports: boolean;
}): RequestEffects {
  return {
    async record(tx, change) {
      // No queue, nothing to announce to and no report to open (dev mode, no webhooks, Slack or
      // evidence): no reads under the lock.
      const idle = deps.scheduler === undefined && deps.webhooks.urls.length === 0 && !deps.slack && !deps.activityReports;
      if (idle) return { ...change, jobs: [] };
      const request = change.known?.request ?? (await findRequest(tx, change.requestId));
      if (request === undefined) return { ...change, jobs: [] };
      const deliveryIds = await recordNotifications(tx, deps, request, change.events);
      const now = deps.clock.now();
      const ended = change.events.includes('request.ended') || change.events.includes('request.revoked');
      const firstPass = deps.activityReports && ended ? await openActivityReport(tx, request, change.events.includes('request.revoked'), now) : undefined;
      const jobs = deps.scheduler === undefined ? [] : [...dueJobsOf(request), ...deliveryIds.map((deliveryId) => ({ name: 'notify' as const, payload: { deliveryId }, runAt: now }))];
      if (deps.scheduler !== undefined && firstPass !== undefined) jobs.push({ name: 'activity', payload: { requestId: request.id }, runAt: firstPass });
      return { ...change, jobs };
    },
    recordWithoutWrites(change) {
      const ended = change.events.includes('request.ended') || change.events.includes('request.revoked');
      if (deps.webhooks.urls.length > 0 || deps.slack || (deps.activityReports && ended)) return undefined;
      return { ...change, jobs: deps.scheduler === undefined ? [] : dueJobsOf(change.known.request) };
    },
    async afterCommit(change) {
      if (deps.scheduler === undefined) return;
      const failed = (error: unknown) => deps.logger.warn({ err: error, requestId: change.requestId }, 'scheduling after commit failed; the reconciler will catch up');
      // Ids never used before: the timed jobs of a created request, and of a request leaving
      // `pending` (request.approved: no activate, end or ending-soon job of it can exist before
      // its approval), and the jobs of new delivery rows. An activation's (its end, its ending
      // notice) cannot have run yet, so none failed for good: the end job its approval queued is
      // added again as a no-op (or back, after a Redis loss).
      const fresh = change.events.includes('request.created') || change.events.includes('request.approved') || change.events.includes('request.activated');
      if (fresh) {
        const scheduled = deps.scheduler.scheduleNew(change.jobs).catch(failed);
        // An approval answers without that round trip: the change is committed either way, a lost
        // job is the reconciler's, and the queue's close() waits for it. Creates and the worker's
        // activations wait: under load, those that wait for Redis commit and queue in bursts, in
        // fewer MULTIs (side by side, creates that did not wait cost 7-20 % more API CPU each).
        if (!change.events.includes('request.approved')) await scheduled;
        return;
      }
      try {
        const extended = change.events.includes('request.extended');
        for (const job of change.jobs) {
          if (extended && MOVED_BY_EXTENSION.has(job.name)) await deps.scheduler.reschedule(job);
          else await deps.scheduler.schedule(job);
        }
      } catch (error) {
        failed(error);
      }
    },
  };
}

/** The delivery rows announcing `events` of a request, in the caller's transaction; returns their ids. */
async function recordNotifications(
  tx: Executor,
  deps: { clock: Clock; webhooks: WebhookConfig; slack: boolean },
  request: RequestRow,
  events: readonly NotifiableEvent[],
): Promise<string[]> {
  if (events.length === 0) return [];
  // Webhook bodies carry the request as the API shows it; Slack payloads carry ids only.
  const view = deps.webhooks.urls.length === 0 ? undefined : requestView(request, await reviewsOf(tx, [request.id]));
  const now = deps.clock.now();
  const slack = (target: string, event: string) =>
    recordTargetDeliveries(tx, now, [target], { event, requestId: request.id, payload: { requestId: request.id, event } });
  const ids: string[] = [];
  for (const event of events) {
    if (view !== undefined) {
      // A finished activity report travels with its event (SPEC §13), as the API shows it.
      const report = event === 'request.activity' ? await findActivityReport(tx, request.id) : undefined;
      const payload = report === undefined ? { request: view } : { request: view, activity: activityView(report) };
      ids.push(...(await recordDeliveries(tx, now, deps.webhooks, { event, requestId: request.id, payload })));
    }
    if (deps.slack && REQUESTER_EVENTS.has(event)) ids.push(...(await slack('slack:requester', event)));
  }
  if (!deps.slack) return ids;
  // DMs reach a new tier through the message sync below; a channel gets a reply in its thread.
  if (events.includes('request.escalated')) ids.push(...(await slack('slack:escalation', 'request.escalated')));
  if (events.includes('request.reminded')) ids.push(...(await slack('slack:reminder', 'request.reminded')));
  ids.push(...(await slack('slack:messages', events.at(-1)!)));
  return ids;
}
