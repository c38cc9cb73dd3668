import { and, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { applyDenyPolicy } from '../credentials/deny-policy-revocation.js';
import { ENDING_NOTICE_SECONDS } from '../requests/notify-ending-soon.js';
import { requests } from '../db/schema.js';
import { attemptDelivery, dueDeliveries } from '../webhooks/deliveries.js';
import { dueActivityReports } from '../evidence/activity-repo.js';
import { runJob, type JobDeps } from './handlers.js';
import type { JobScheduler } from './queue.js';
import { dueJobsOf } from './request-effects.js';

const BATCH = 200;
/**
 * A delivery this overdue lost its job (Redis flushed) or never had one (Redis down, or the process
 * gone, between the commit that recorded it and the queueing); younger ones may be in flight.
 */
const LOST_DELIVERY_GRACE_MS = 60_000;

export interface ReconcileDeps extends JobDeps {
  logger: Logger;
  /** With a queue, overdue deliveries are re-enqueued; without, they are attempted here. */
  scheduler: JobScheduler | undefined;
}

export interface ReconcileReport {
  transitions: number;
  denyPolicies: number;
  deliveries: number;
  activityPasses: number;
}

/**
 * The database is the source of truth (SPEC §5): this sweep finds every piece of timed work
 * that is due — windows past their end, scheduled windows past their start, pending requests
 * past their TTL or remind time, deny statements to place or remove, webhook deliveries — and
 * runs the very same handlers as the jobs. A flushed Redis therefore loses nothing.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const now = deps.clock.now();
  const report: ReconcileReport = { transitions: 0, denyPolicies: 0, deliveries: 0, activityPasses: 0 };

  const due = await deps.db
    .select()
    .from(requests)
    .where(
      or(
        and(eq(requests.status, 'active'), lte(requests.endsAt, now)),
        and(eq(requests.status, 'active'), isNull(requests.endingNoticeAt), lte(requests.endsAt, new Date(now.getTime() + ENDING_NOTICE_SECONDS * 1000))),
        and(eq(requests.status, 'approved'), lte(requests.startsAt, now)),
        and(eq(requests.status, 'pending'), lte(requests.pendingExpiresAt, now)),
        and(eq(requests.status, 'pending'), lte(requests.remindAt, now), isNull(requests.remindedAt)),
        and(eq(requests.status, 'pending'), lte(requests.escalateAt, now)),
        and(eq(requests.denyPolicyStatus, 'applied'), lte(requests.revocationCleanupAt, now)),
      ),
    )
    // Random order: rows that keep failing (an IAM outage) cannot crowd out the rest of the batch.
    .orderBy(sql`random()`)
    .limit(BATCH);
  for (const request of due) {
    for (const job of dueJobsOf(request).filter((j) => j.runAt <= now)) {
      const result = await runJob(deps, job.name, job.payload).catch((error: unknown) => {
        deps.logger.warn({ err: error, requestId: request.id, job: job.name }, 'reconciler job failed');
        return undefined;
      });
      if (result?.kind === 'done') report.transitions += 1;
    }
  }

  const denyPending = await deps.db
    .select({ id: requests.id })
    .from(requests)
    .where(eq(requests.denyPolicyStatus, 'pending'))
    .orderBy(sql`random()`)
    .limit(BATCH);
  for (const { id } of denyPending) {
    try {
      if (await applyDenyPolicy(deps, id)) report.denyPolicies += 1;
    } catch (error) {
      deps.logger.warn({ err: error, requestId: id }, 'deny policy still not applied');
    }
  }

  const overdue = new Date(now.getTime() - (deps.scheduler === undefined ? 0 : LOST_DELIVERY_GRACE_MS));
  for (const delivery of await dueDeliveries(deps.db, overdue, BATCH)) {
    if (deps.scheduler !== undefined) {
      await deps.scheduler.schedule({ name: 'notify', payload: { deliveryId: delivery.id }, runAt: now });
    } else {
      await attemptDelivery(deps, deps.webhooks, delivery.id);
    }
    report.deliveries += 1;
  }

  // Activity report passes (SPEC §13) whose job was lost; in dev mode, every due pass runs here.
  for (const requestId of await dueActivityReports(deps.db, overdue, BATCH)) {
    if (deps.scheduler !== undefined) {
      await deps.scheduler.schedule({ name: 'activity', payload: { requestId }, runAt: now });
    } else {
      await runJob(deps, 'activity', { requestId }).catch((error: unknown) => deps.logger.warn({ err: error, requestId }, 'activity pass failed'));
    }
    report.activityPasses += 1;
  }
  return report;
}

/**
 * Puts every open request's future jobs back in the queue (worker start): after a Redis loss,
 * windows end on time again instead of at the next sweep. Job ids make this a no-op otherwise.
 */
export async function rescheduleOpenRequests(deps: Pick<ReconcileDeps, 'db'>, scheduler: JobScheduler): Promise<number> {
  const open = await deps.db
    .select()
    .from(requests)
    .where(or(inArray(requests.status, ['pending', 'approved', 'active']), eq(requests.denyPolicyStatus, 'applied')));
  let count = 0;
  for (const request of open) {
    for (const job of dueJobsOf(request)) {
      await scheduler.schedule(job);
      count += 1;
    }
  }
  return count;
}

/**
 * The sweep every `intervalMs` (in each worker; in dev mode inside the API process), never
 * overlapping itself. `onReport` hears what each sweep did (metrics).
 */
export function startReconcilerLoop(deps: ReconcileDeps, intervalMs: number, onReport?: (report: ReconcileReport) => void): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = reconcile(deps)
      .then((report) => onReport?.(report))
      .catch((error: unknown) => deps.logger.error({ err: error }, 'reconciler sweep failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
