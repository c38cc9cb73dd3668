/**
 * The request lifecycle (SPEC §2): states, the commands each state accepts, and how approvals
 * count. Pure: it decides, the caller persists. Business refusals are returned, never thrown.
 */

export const REQUEST_STATUSES = ['pending', 'approved', 'active', 'denied', 'cancelled', 'expired', 'ended', 'revoked'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export const TERMINAL_STATUSES: readonly RequestStatus[] = ['denied', 'cancelled', 'expired', 'ended', 'revoked'];

export type LifecycleCommand =
  | { kind: 'approve'; reviewerId: string }
  | { kind: 'deny'; reviewerId: string }
  | { kind: 'cancel' }
  | { kind: 'revoke' }
  | { kind: 'activate' }
  | { kind: 'end' }
  | { kind: 'expire' }
  /** The grant an extension extends has ended (any way): a pending extension can no longer apply. */
  | { kind: 'parent-ended' };

export type LifecycleEvent =
  | 'review.approved'
  | 'review.denied'
  | 'request.approved'
  | 'request.activated'
  | 'request.denied'
  | 'request.cancelled'
  | 'request.revoked'
  | 'request.ended'
  | 'request.expired';

/** What the lifecycle needs to know about a request; no database types. */
export interface RequestFacts {
  /** `extension`: a record asking to move its parent's end (SPEC §12), never a grant itself. */
  kind: 'access' | 'extension';
  status: RequestStatus;
  requesterId: string;
  approvalsRequired: number;
  breakGlass: boolean;
  durationSeconds: number;
  /** Requested start (scheduled access) or the start of the open window. */
  startsAt: Date | null;
  endsAt: Date | null;
  pendingExpiresAt: Date;
  /** Reviewer ids of the reviews already recorded, with their decisions. */
  reviews: readonly { reviewerId: string; decision: 'approve' | 'deny' }[];
}

/** `expired`: a pending request past its TTL whose expiry job has not run yet. */
export type Refusal = 'self-review' | 'already-reviewed' | 'invalid-transition' | 'not-due' | 'expired';

export type Decision =
  | {
      ok: true;
      status: RequestStatus;
      events: LifecycleEvent[];
      /** Set when the command opens, fixes or ends (revocation) the grant window. */
      window?: { startsAt: Date; endsAt: Date };
      /** True when a review row is to be recorded (approve/deny). */
      recordsReview: boolean;
      /** True for a review of an active or ended break-glass request. */
      postHoc: boolean;
    }
  | { ok: false; reason: Refusal };

const refuse = (reason: Refusal): Decision => ({ ok: false, reason });

function moveTo(status: RequestStatus, events: LifecycleEvent[], extra: Partial<Extract<Decision, { ok: true }>> = {}): Decision {
  return { ok: true, status, events, recordsReview: false, postHoc: false, ...extra };
}

export function isTerminal(status: RequestStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Identity is compared on canonical principal ids only (SPEC §3 rule 10). */
export function isSelfReview(facts: Pick<RequestFacts, 'requesterId'>, reviewerId: string): boolean {
  return facts.requesterId === reviewerId;
}

/**
 * The grant window an approval opens: scheduled requests keep their requested start; immediate
 * ones start now. `endsAt = startsAt + durationSeconds` always.
 */
export function windowOnApproval(facts: Pick<RequestFacts, 'startsAt' | 'durationSeconds'>, now: Date): { startsAt: Date; endsAt: Date } {
  const startsAt = facts.startsAt ?? now;
  return { startsAt, endsAt: new Date(startsAt.getTime() + facts.durationSeconds * 1000) };
}

/**
 * SPEC §4.4: a revocation ends the window now. An open window's end moves to the moment of the
 * revocation (what the request then shows as `endsAt`); one not yet open keeps the window it was
 * approved with, which it never reaches.
 */
function windowEndedNow(facts: Pick<RequestFacts, 'startsAt' | 'endsAt'>, now: Date): { window?: { startsAt: Date; endsAt: Date } } {
  const { startsAt, endsAt } = facts;
  if (startsAt === null || endsAt === null || startsAt.getTime() > now.getTime() || endsAt.getTime() <= now.getTime()) return {};
  return { window: { startsAt, endsAt: now } };
}

/**
 * After approval completes: active when the window has begun, else approved until its start. An
 * extension is approved and ended at once: it is a record, and the caller moves its parent's end.
 */
function approvedState(facts: RequestFacts, now: Date, events: LifecycleEvent[]): Decision {
  if (facts.kind === 'extension') return moveTo('ended', [...events, 'request.approved', 'request.ended'], { recordsReview: events.length > 0 });
  const window = windowOnApproval(facts, now);
  if (window.startsAt.getTime() <= now.getTime()) {
    return moveTo('active', [...events, 'request.approved', 'request.activated'], { window, recordsReview: events.length > 0 });
  }
  return moveTo('approved', [...events, 'request.approved'], { window, recordsReview: events.length > 0 });
}

/** Approval on creation: `required = 0`, or a break-glass self-activation. */
export function decideOnCreation(facts: RequestFacts, now: Date): Decision {
  if (facts.breakGlass) return moveTo('active', ['request.activated'], { window: windowOnApproval({ ...facts, startsAt: null }, now) });
  if (facts.approvalsRequired === 0) return approvedState(facts, now, []);
  return moveTo('pending', []);
}

function review(facts: RequestFacts, command: { kind: 'approve' | 'deny'; reviewerId: string }, now: Date): Decision {
  if (isSelfReview(facts, command.reviewerId)) return refuse('self-review');
  // Before the state: an approver's second click, whatever the first one did to the request, is
  // told that they already reviewed it (each approver counts once), not that the request moved on.
  if (facts.reviews.some((r) => r.reviewerId === command.reviewerId)) return refuse('already-reviewed');
  const postHoc = facts.breakGlass && (facts.status === 'active' || facts.status === 'ended');
  if (facts.status !== 'pending' && !postHoc) return refuse('invalid-transition');
  // The TTL ends the time for reviews, not the expiry job: a late job (lost queue, slow
  // reconciler) must not leave a window in which an overdue request can still be approved.
  if (facts.status === 'pending' && facts.pendingExpiresAt.getTime() <= now.getTime()) return refuse('expired');

  if (postHoc) {
    // A post-hoc deny of a live break-glass session ends it; on an ended one it is a record.
    if (command.kind === 'deny' && facts.status === 'active') {
      return moveTo('revoked', ['review.denied', 'request.revoked'], { recordsReview: true, postHoc: true, ...windowEndedNow(facts, now) });
    }
    const event = command.kind === 'approve' ? 'review.approved' : 'review.denied';
    return moveTo(facts.status, [event], { recordsReview: true, postHoc: true });
  }

  if (command.kind === 'deny') return moveTo('denied', ['review.denied', 'request.denied'], { recordsReview: true });
  const approvals = new Set(facts.reviews.filter((r) => r.decision === 'approve').map((r) => r.reviewerId));
  approvals.add(command.reviewerId);
  if (approvals.size < facts.approvalsRequired) return moveTo('pending', ['review.approved'], { recordsReview: true });
  return approvedState(facts, now, ['review.approved']);
}

/** The one transition function. Every (state, command) pair has exactly one answer here. */
export function decide(facts: RequestFacts, command: LifecycleCommand, now: Date): Decision {
  switch (command.kind) {
    case 'approve':
    case 'deny':
      return review(facts, command, now);
    // SPEC §2: a pending request is withdrawn (`cancelled`); an approved window that has not
    // started yet is given up as the diagram draws it, `approved ─cancel/revoke─▶ revoked`.
    case 'cancel':
      if (facts.status === 'pending') return moveTo('cancelled', ['request.cancelled']);
      return facts.status === 'approved' ? moveTo('revoked', ['request.revoked']) : refuse('invalid-transition');
    case 'revoke':
      return facts.status === 'approved' || facts.status === 'active'
        ? moveTo('revoked', ['request.revoked'], facts.status === 'active' ? windowEndedNow(facts, now) : {})
        : refuse('invalid-transition');
    case 'activate':
      if (facts.status !== 'approved') return refuse('invalid-transition');
      if (facts.startsAt === null || facts.startsAt.getTime() > now.getTime()) return refuse('not-due');
      // A window whose end already passed (its jobs were lost) goes straight to ended.
      if (facts.endsAt !== null && facts.endsAt.getTime() <= now.getTime()) return moveTo('ended', ['request.ended']);
      return moveTo('active', ['request.activated']);
    case 'end':
      if (facts.status !== 'active' && facts.status !== 'approved') return refuse('invalid-transition');
      if (facts.endsAt === null || facts.endsAt.getTime() > now.getTime()) return refuse('not-due');
      return moveTo('ended', ['request.ended']);
    case 'expire':
      if (facts.status !== 'pending') return refuse('invalid-transition');
      if (facts.pendingExpiresAt.getTime() > now.getTime()) return refuse('not-due');
      return moveTo('expired', ['request.expired']);
    case 'parent-ended':
      return facts.kind === 'extension' && facts.status === 'pending' ? moveTo('expired', ['request.expired']) : refuse('invalid-transition');
    default: {
      const exhaustive: never = command;
      return exhaustive;
    }
  }
}
