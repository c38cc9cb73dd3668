/**
 * Who approves a request, who may see it, and whom it awaits (SPEC §3 rules 1, 2, 10; §7).
 *
 * This is the one answer to these questions. Commands and Slack ask these functions; lists ask
 * their SQL twin in `request-access.sql.ts`, which both tests hold to the same table of cases
 * (`request-access.cases.ts`): whatever an item route answers, a list answers the same.
 *
 * Every function takes `now`: eligibility is judged at that moment (rule 2), and escalation tiers
 * (SPEC §12, approvers who join once a request has waited long enough) enter in
 * `approverAudiences` alone, counted from the request's creation to `now` — or to its decision,
 * for a decided request: nothing escalates once it is decided, and a tier that joined before
 * keeps seeing what it could review.
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
export type ApproverRules = Pick<ApprovalPolicy, 'approverGroups' | 'approverPrincipals'> & Partial<Pick<ApprovalPolicy, 'escalation'>>;

/** What decides who approves and sees a request: its requester, its profile version's rules, its age. */
export interface RequestParties {
  requesterId: string;
  createdAt: Date;
  /** When it left `pending`; null while pending. */
  decidedAt: Date | null;
  approval: ApproverRules;
}

/**
 * The audiences that approve a request that has been pending for `pendingSeconds`: the profile
 * version's approver groups and principals, then each escalation tier whose `afterSeconds` have
 * passed (earlier tiers keep their right). Tiers name groups only. The SQL twin mirrors this.
 */
export function approverAudiences(approval: ApproverRules, pendingSeconds: number): Audience[] {
  const tiers = (approval.escalation ?? []).filter((tier) => tier.afterSeconds <= pendingSeconds);
  return [{ groups: approval.approverGroups, principals: approval.approverPrincipals }, ...tiers.map((tier) => ({ groups: tier.approverGroups, principals: [] }))];
}

/** How long the request was pending at `now`: until now, or until its decision. */
export function pendingSecondsAt(request: Pick<RequestParties, 'createdAt' | 'decidedAt'>, now: Date): number {
  const until = request.decidedAt !== null && request.decidedAt < now ? request.decidedAt : now;
  return (until.getTime() - request.createdAt.getTime()) / 1000;
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
  return approverAudiences(request.approval, pendingSecondsAt(request, now)).some((audience) => approvesIn(audience, who));
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
