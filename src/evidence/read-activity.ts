import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import { getRequest } from '../requests/read-requests.js';
import { findActivityReport } from './activity-repo.js';
import { activityView, type ActivityView } from './activity-view.js';

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
