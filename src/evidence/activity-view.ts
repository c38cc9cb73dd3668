import type { ActivityReportRow } from './activity-repo.js';

/**
 * The report as the API and Slack show it (SPEC §13): `complete`, else `pending` (SPEC names
 * these two), `givenUp` saying a pending report will not be completed (an hour after the end
 * without a settled pass, or a role whose CloudTrail Brevet cannot read; `lastError` says why).
 */
export function activityView(report: ActivityReportRow) {
  return {
    status: report.status === 'complete' ? ('complete' as const) : ('pending' as const),
    givenUp: report.status === 'incomplete',
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
