import type { ActivityReportRow } from './activity-repo.js';

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
