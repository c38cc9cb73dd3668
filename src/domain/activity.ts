/**
 * Activity reports (SPEC §13): what was done with a grant's credentials, from CloudTrail, once
 * access has ended. Pure: when access ended, what a pass found, when the next pass runs.
 */

/** One CloudTrail management event, as much of it as a report needs. */
export interface TrailEvent {
  eventId: string;
  /** e.g. `ec2.amazonaws.com`. */
  eventSource: string;
  eventName: string;
  eventTime: Date;
  /** The `errorCode` of the event's CloudTrailEvent JSON: the call failed. */
  errorCode: string | null;
}

/** `complete`: a settled pass found nothing new; `incomplete`: given up after an hour without one. */
export type ActivityStatus = 'pending' | 'complete' | 'incomplete';

export interface ActivitySummary {
  events: number;
  /** `<service prefix of eventSource>:<eventName>` → count, e.g. `ec2:RunInstances`. */
  byAction: Record<string, number>;
  errors: number;
  first: Date | null;
  last: Date | null;
}

/** Passes after the settle pass run this often at most. */
export const ACTIVITY_PASS_INTERVAL_SECONDS = 300;
/** No pass is made later than this after access ended: the report is then `incomplete`. */
export const ACTIVITY_GIVE_UP_SECONDS = 3_600;

export function summarizeActivity(events: readonly TrailEvent[]): ActivitySummary {
  const byAction: Record<string, number> = {};
  let errors = 0;
  let first: Date | null = null;
  let last: Date | null = null;
  for (const e of events) {
    const key = `${e.eventSource.split('.')[0]}:${e.eventName}`;
    byAction[key] = (byAction[key] ?? 0) + 1;
    if (e.errorCode !== null) errors += 1;
    if (first === null || e.eventTime < first) first = e.eventTime;
    if (last === null || e.eventTime > last) last = e.eventTime;
  }
  return { events: events.length, byAction, errors, first, last };
}

/**
 * When the access of a request's credentials ended: at revocation when a deny policy cut its
 * sessions (unless placing it failed), else when the last issued credential expires. Null when
 * no credentials were issued: there is nothing to report.
 */
export function accessEndedAt(input: { revokedAt: Date | null; denyPolicy: 'pending' | 'applied' | 'removed' | 'failed' | null; expirations: readonly Date[] }): Date | null {
  if (input.expirations.length === 0) return null;
  const lastExpiration = new Date(Math.max(...input.expirations.map((d) => d.getTime())));
  const cut = input.revokedAt !== null && input.denyPolicy !== null && input.denyPolicy !== 'failed';
  return cut && input.revokedAt! < lastExpiration ? input.revokedAt! : lastExpiration;
}

/**
 * After a pass at `passAt` (SPEC §13): complete once a pass made at least `settleSeconds` after
 * the end finds nothing new; otherwise the next pass at end + settle, then every 5 minutes;
 * given up (`incomplete`) when that would be more than an hour after the end. A failed pass
 * (CloudTrail unreachable or throttling) never completes a report.
 */
export function nextActivityStep(input: {
  endedAt: Date;
  settleSeconds: number;
  passAt: Date;
  foundNew: boolean;
  failed: boolean;
}): { status: 'complete' | 'incomplete' } | { status: 'pending'; nextPassAt: Date } {
  const settledAt = input.endedAt.getTime() + input.settleSeconds * 1000;
  if (!input.failed && !input.foundNew && input.passAt.getTime() >= settledAt) return { status: 'complete' };
  const next = input.passAt.getTime() < settledAt ? settledAt : input.passAt.getTime() + ACTIVITY_PASS_INTERVAL_SECONDS * 1000;
  if (next > input.endedAt.getTime() + ACTIVITY_GIVE_UP_SECONDS * 1000) return { status: 'incomplete' };
  return { status: 'pending', nextPassAt: new Date(next) };
}
