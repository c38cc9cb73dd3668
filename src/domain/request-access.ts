/**
 * Who approves a request, who may see it, and whom it awaits (SPEC §3 rules 1, 2, 10; §7).
 *
 * This is the one answer to these questions. Commands and Slack ask these functions; lists ask
 * their SQL twin in `request-access.sql.ts`, which both tests hold to the same table of cases
 * (`request-access.cases.ts`): whatever an item route answers, a list answers the same.
 *
 * Every function takes `now`: eligibility is judged at that moment (rule 2), and escalation tiers
 * (SPEC §12, approvers who join once a request has waited long enough) enter in
 * `approverAudiences` alone, counted from the request's creation.
 */
import { isInAudience, type Audience } from './eligibility.js';
import { decide, type RequestFacts } from './lifecycle.js';
import type { ApprovalPolicy } from './profile.js';

/** A principal as stored: its kind decides how a profile may name it. */
export interface Principal {
  id: string;
  kind: 'person' | 'service';
  email: string | null;
  groups: readonly string[];
}

/** A principal reading requests, with what the deployment's group config makes of it. */
export interface Viewer extends Principal {
  isAdmin: boolean;
  isAuditor: boolean;
}

/** The approver rules of a profile version (entries canonical, as `buildProfileDefinition` stores them). */
export type ApproverRules = Pick<ApprovalPolicy, 'approverGroups' | 'approverPrincipals'>;

/** What decides who approves and sees a request: its requester, its profile version's rules, its age. */
export interface RequestParties {
  requesterId: string;
  createdAt: Date;
  approval: ApproverRules;
}

/**
 * The audiences that approve a request `elapsedSeconds` after its creation. Today one: the
 * profile version's approver groups and principals. Escalation tiers join the list here once
 * their `afterSeconds` have passed; the SQL twin mirrors this function.
 */
export function approverAudiences(approval: ApproverRules, _elapsedSeconds: number): Audience[] {
  return [{ groups: approval.approverGroups, principals: approval.approverPrincipals }];
}

/**
 * Membership of one approver audience. Persons count by group or when named (id or canonical
 * email). A service account counts only when named by its id: an admin can put any service
 * account in any group, and must not thereby mint an approver for their own requests.
 */
export function approvesIn(audience: Audience, who: Principal): boolean {
  if (who.kind === 'service') return audience.principals.includes(who.id);
  return isInAudience(audience, who);
}

/**
 * Whether `who` is an approver of the request at `now` (rule 2). Being an approver is not being
 * allowed to review: the requester may be in the approver group and still never reviews (rule 1).
 */
export function isApproverOf(request: RequestParties, who: Principal, now: Date): boolean {
  const elapsedSeconds = (now.getTime() - request.createdAt.getTime()) / 1000;
  return approverAudiences(request.approval, elapsedSeconds).some((audience) => approvesIn(audience, who));
}

/** Whether `who` approves requests of a profile at some point of their life (every tier): for reading the profile. */
export function approvesUnderProfile(approval: ApproverRules, who: Principal): boolean {
  return approverAudiences(approval, Number.POSITIVE_INFINITY).some((audience) => approvesIn(audience, who));
}

/** Who may see a request: its requester, its approvers, admins and auditors (SPEC §7). */
export function maySeeRequest(request: RequestParties, viewer: Viewer, now: Date): boolean {
  return viewer.id === request.requesterId || viewer.isAdmin || viewer.isAuditor || isApproverOf(request, viewer, now);
}

/**
 * Whether the request awaits a review from `viewer` (`GET /v1/requests?reviewable=true`): an
 * approver whose review the lifecycle would accept now — not the requester, not one who already
 * reviewed, a pending request within its TTL or a break-glass session awaiting its post-hoc review.
 */
export function awaitsReviewBy(request: RequestParties, facts: RequestFacts, viewer: Principal, now: Date): boolean {
  return isApproverOf(request, viewer, now) && decide(facts, { kind: 'approve', reviewerId: viewer.id }, now).ok;
}
