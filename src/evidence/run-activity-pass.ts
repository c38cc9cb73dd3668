import type { TrailLookup } from '../adapters/aws/cloudtrail.js';
import { classify } from '../adapters/aws/errors.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { accessEndedAt, nextActivityStep, summarizeActivity, type TrailEvent } from '../domain/activity.js';
import { roleNameOf } from '../domain/deny-policy.js';
import type { CallLimiter } from '../lib/call-limiter.js';
import { findProfileVersion } from '../profiles/repo.js';
import type { RequestEffects } from '../requests/effects.js';
import { findRequest } from '../requests/repo.js';
import { findActivityReport, issuedKeysOf, lockActivityReport, updateActivityReport } from './activity-repo.js';

export type ActivityDeps = {
  db: Db;
  clock: Clock;
  effects: RequestEffects;
  trailLookup: TrailLookup;
  /** LookupEvents allows 2 calls per second per account and region, for every worker together. */
  trailLimiter: CallLimiter;
  rolePolicies: Pick<RolePolicyStore, 'roleArn'>;
  config: { evidence: { activitySettleSeconds: number } };
};

/** Global services (IAM, STS, Organizations …) log their events in us-east-1. */
const GLOBAL_REGION = 'us-east-1';
/** Events up to this long before the first issuance are asked for too: clocks differ a little. */
const START_MARGIN_MS = 5 * 60_000;

/**
 * One pass of a request's activity report (SPEC §13): every LookupEvents page for every issued
 * access key, in the profile's region and us-east-1, each call admitted by the shared limiter;
 * then the counts are rewritten from what was found and the next pass is planned. Returns when
 * the next pass is due, or undefined when the report is finished (or there is none).
 */
export async function runActivityPass(deps: ActivityDeps, requestId: string): Promise<{ runAt: Date } | undefined> {
  const request = await findRequest(deps.db, requestId);
  const report = request === undefined ? undefined : await findActivityReport(deps.db, requestId);
  if (request === undefined || report === undefined || report.status !== 'pending') return undefined;
  const definition = (await findProfileVersion(deps.db, request.profileId, request.profileVersion))!;
  const keys = await issuedKeysOf(deps.db, requestId);
  // A deny policy that could not be placed left the sessions alive until they expire.
  const endedAt = accessEndedAt({ revokedAt: report.revokedAt, denyPolicy: request.denyPolicyStatus, expirations: keys.map((k) => k.expiresAt) }) ?? report.endedAt;
  const now = deps.clock.now();
  const dueAt = report.passes === 0 ? endedAt : (report.nextPassAt ?? now);
  if (dueAt > now) {
    if (endedAt.getTime() !== report.endedAt.getTime()) await updateActivityReport(deps.db, requestId, { endedAt, nextPassAt: endedAt, updatedAt: now });
    return { runAt: dueAt };
  }

  let events: TrailEvent[] | undefined;
  let failure: string | null = null;
  let permanent = false;
  try {
    events = await lookupAll(deps, definition.roleArn, definition.region, keys);
  } catch (error) {
    permanent = error instanceof NotReportable;
    failure = permanent ? (error as Error).message : classify(error).message;
  }
  const summary = events === undefined ? undefined : summarizeActivity(events);
  const passAt = deps.clock.now();
  // A role Brevet cannot read CloudTrail for stays so: no point asking for an hour.
  const step = permanent ? ({ status: 'incomplete' } as const) : nextActivityStep({
    endedAt,
    settleSeconds: deps.config.evidence.activitySettleSeconds,
    passAt,
    foundNew: summary !== undefined && summary.events > report.events,
    failed: failure !== null,
  });

  const recorded = await deps.db.transaction(async (tx) => {
    const locked = await lockActivityReport(tx, requestId);
    // Another worker finished it meanwhile: its answer stands.
    if (locked === undefined || locked.status !== 'pending' || locked.passes !== report.passes) return undefined;
    await updateActivityReport(tx, requestId, {
      endedAt,
      status: step.status,
      nextPassAt: step.status === 'pending' ? step.nextPassAt : null,
      passes: report.passes + 1,
      lastPassAt: passAt,
      lastError: failure,
      updatedAt: passAt,
      ...(summary === undefined
        ? {}
        : { events: summary.events, byAction: summary.byAction, errors: summary.errors, firstEventAt: summary.first, lastEventAt: summary.last }),
    });
    if (step.status === 'pending') return undefined;
    const final = summary ?? { events: locked.events, byAction: locked.byAction, errors: locked.errors, first: locked.firstEventAt, last: locked.lastEventAt };
    await appendAudit(tx, deps.clock, {
      actor: systemActor,
      action: 'request.activity',
      requestId,
      profileId: request.profileId,
      sourceIp: null,
      details: {
        status: step.status,
        events: final.events,
        byAction: final.byAction,
        errors: final.errors,
        first: final.first?.toISOString() ?? null,
        last: final.last?.toISOString() ?? null,
        accessKeyIds: keys.map((k) => k.accessKeyId),
        ...(failure === null ? {} : { lastError: failure }),
      },
    });
    // The request's Slack message gets its one-line summary (and webhooks hear of it).
    return deps.effects.record(tx, { requestId, events: ['request.activity'] });
  });
  if (recorded !== undefined) await deps.effects.afterCommit(recorded);
  return step.status === 'pending' ? { runAt: step.nextPassAt } : undefined;
}

/** The report cannot be made at all (the role is in another account): no later pass would do better. */
class NotReportable extends Error {}

/** Every event of every key, deduplicated by EventId; throws on the first failed call. */
async function lookupAll(deps: ActivityDeps, roleArn: string, profileRegion: string | null, keys: { accessKeyId: string; createdAt: Date }[]): Promise<TrailEvent[]> {
  // Brevet's credentials read CloudTrail in their own account only: a role elsewhere cannot be reported on.
  const found = await deps.rolePolicies.roleArn(roleNameOf(roleArn));
  if (found !== null && found !== roleArn) throw new NotReportable(`the role ${roleArn} is not in the account of Brevet's credentials, whose CloudTrail Brevet reads`);
  const account = roleArn.split(':')[4]!;
  const regions = [...new Set([profileRegion ?? process.env['AWS_REGION'] ?? GLOBAL_REGION, GLOBAL_REGION])];
  const startTime = new Date(Math.min(...keys.map((k) => k.createdAt.getTime())) - START_MARGIN_MS);
  const byId = new Map<string, TrailEvent>();
  for (const region of regions) {
    for (const { accessKeyId } of keys) {
      let nextToken: string | undefined;
      do {
        const page = await deps.trailLookup.lookupPage({ region, accessKeyId, startTime, nextToken }, () => deps.trailLimiter.acquire(`${account}:${region}`));
        for (const event of page.events) byId.set(event.eventId, event);
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    }
  }
  return [...byId.values()];
}
