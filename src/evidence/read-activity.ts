import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import { getRequest } from '../requests/read-requests.js';
import { findActivityReport, type ActivityReportRow } from './activity-repo.js';

/** The report as the API and Slack show it (SPEC §13). */
export function activityView(report: ActivityReportRow) {
  return {
    status: report.status,
    events: report.events,
    byAction: report.byAction as Record<string, number>,
    errors: report.errors,
    first: report.firstEventAt?.toISOString() ?? null,
    last: report.lastEventAt?.toISOString() ?? null,
    endedAt: report.endedAt.toISOString(),
    lastPassAt: report.lastPassAt?.toISOString() ?? null,
    lastError: report.lastError,
  };
}

export type ActivityView = ReturnType<typeof activityView>;

/**
 * The activity report of a request, for those who may see the request (its requester, its
 * approvers, admins, auditors); everyone else gets the 404 of a missing request. A request
 * without a report yet (access not ended, or no credentials issued) is a 404 too, saying so.
 */
export async function readActivity(deps: { db: Db; clock: Clock }, caller: Caller, requestId: string): Promise<ActivityView> {
  await getRequest(deps, caller, requestId);
  const report = await findActivityReport(deps.db, requestId);
  if (report === undefined) throw new Problem('not-found', 'no activity report for this request: one is made once access with issued credentials has ended');
  return activityView(report);
}
