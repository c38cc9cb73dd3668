/**
 * The SQL twin of `request-access.ts`: the same rules as drizzle conditions over `requests`
 * (each reads the `profile_versions` row its request was made under), for lists and counts.
 * Building a condition does no I/O; this file is the one place in domain/ that knows the schema,
 * and the shared table of cases (`request-access.cases.ts`) holds it to the pure functions against
 * real PostgreSQL (test/requests/request-access-sql.test.ts).
 *
 * Profile versions store approver entries canonical (trimmed groups, lower-case NFKC emails, see
 * `buildProfileDefinition`), so the viewer's side is canonicalised here and compared exactly.
 */
import { and, eq, gt, inArray, ne, not, or, sql, type SQL } from 'drizzle-orm';
import { profileVersions, requests, reviews } from '../db/schema.js';
import { canonicalEmail } from './identity.js';
import type { Principal, Viewer } from './request-access.js';

const approval = sql`(${profileVersions.definition}->'approval')`;

/**
 * `pendingSecondsAt`: seconds from `requests.created_at` to `now`, or to `decided_at` when earlier.
 * Timestamps are stored from JavaScript dates (milliseconds), so the arithmetic is exact.
 */
function pendingSecondsSql(now: Date): SQL {
  const at = sql`${now.toISOString()}::timestamptz`;
  return sql`extract(epoch from (least(${at}, coalesce(${requests.decidedAt}, ${at})) - ${requests.createdAt}))`;
}

/**
 * `isApproverOf`: `approverAudiences` + `approvesIn` over the request's own profile version: its
 * approver groups and principals, then each escalation tier (groups only) whose `afterSeconds`
 * have passed while the request was pending.
 */
export function approverOfRequestSql(who: Principal, now: Date): SQL {
  const names = [who.id];
  const matches: SQL[] = [];
  if (who.kind === 'person') {
    if (who.email !== null) names.push(canonicalEmail(who.email));
    if (who.groups.length > 0) {
      const groups = sql`${sql.param([...who.groups])}::text[]`;
      matches.push(sql`jsonb_exists_any(${approval}->'approverGroups', ${groups})`);
      matches.push(
        sql`exists (select 1 from jsonb_array_elements(coalesce(${approval}->'escalation', '[]'::jsonb)) as tier where (tier->>'afterSeconds')::numeric <= ${pendingSecondsSql(now)} and jsonb_exists_any(tier->'approverGroups', ${groups}))`,
      );
    }
  }
  matches.push(sql`jsonb_exists_any(${approval}->'approverPrincipals', ${sql.param(names)}::text[])`);
  return sql`exists (select 1 from ${profileVersions} where ${profileVersions.profileId} = ${requests.profileId} and ${profileVersions.version} = ${requests.profileVersion} and (${or(...matches)}))`;
}

/** `maySeeRequest`; undefined when the viewer sees every request (admins, auditors). */
export function maySeeRequestSql(viewer: Viewer, now: Date): SQL | undefined {
  if (viewer.isAdmin || viewer.isAuditor) return undefined;
  return or(eq(requests.requesterId, viewer.id), approverOfRequestSql(viewer, now));
}

/**
 * `awaitsReviewBy`, spelled out from the lifecycle's review rules: not the requester (rule 1),
 * not reviewed by the viewer yet (each approver counts once), and either pending within its TTL
 * or a break-glass session (active or ended) awaiting its post-hoc review.
 */
export function awaitsReviewBySql(viewer: Principal, now: Date): SQL {
  const reviewedByViewer = sql`exists (select 1 from ${reviews} where ${reviews.requestId} = ${requests.id} and ${reviews.reviewerId} = ${viewer.id})`;
  const reviewable = or(
    and(eq(requests.status, 'pending'), gt(requests.pendingExpiresAt, now)),
    and(eq(requests.breakGlass, true), inArray(requests.status, ['active', 'ended'])),
  );
  return and(approverOfRequestSql(viewer, now), ne(requests.requesterId, viewer.id), reviewable, not(reviewedByViewer))!;
}
