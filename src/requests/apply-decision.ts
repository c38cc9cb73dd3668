import type { Clock } from '../adapters/clock.js';
import { appendAudit, appendAudits, auditEventsJson, systemActor, type AuditActor, type AuditEntry } from '../audit/writer.js';
import type { Tx } from '../db/client.js';
import { decide, isTerminal, type Decision, type LifecycleEvent, type RequestFacts, type RequestStatus } from '../domain/lifecycle.js';
import { newId } from '../domain/ids.js';
import { latestCredentialExpiry } from '../credentials/repo.js';
import type { RequestChange } from './effects.js';
import { insertReviewWithAudit, lockPendingExtensions, updateLockedRequest, type RequestRow, type ReviewRow } from './repo.js';

export function factsOf(request: RequestRow, reviews: readonly ReviewRow[]): RequestFacts {
  return {
    kind: request.kind,
    status: request.status as RequestStatus,
    requesterId: request.requesterId,
    approvalsRequired: request.approvalsRequired,
    breakGlass: request.breakGlass,
    durationSeconds: request.durationSeconds,
    startsAt: request.startsAt,
    endsAt: request.endsAt,
    pendingExpiresAt: request.pendingExpiresAt,
    reviews: reviews.map((r) => ({ reviewerId: r.reviewerId, decision: r.decision })),
  };
}

export interface TransitionContext {
  actor: AuditActor;
  sourceIp: string | null;
  review?: { decision: 'approve' | 'deny'; comment: string | null; channel: 'api' | 'slack' };
  reason?: string | null;
  /** The profile version's revocation mode, for commands that may revoke. */
  revocation?: 'block-new' | 'deny-policy';
}

/** An applied decision: the request as it now is, and the other requests it changed (for their effects). */
export interface Applied {
  request: RequestRow;
  /** The review this decision recorded, if any (the caller builds its answer without reading it back). */
  review: ReviewRow | undefined;
  /** Pending extensions expired because their parent ended (SPEC §12). */
  followUps: RequestChange[];
}

/**
 * Persists an accepted lifecycle decision inside the caller's transaction: the new state,
 * the review row, and one audit event per lifecycle event, written last (see appendAudit).
 * A grant that ends (any way) takes its pending extension with it, in the same transaction.
 */
export async function applyDecision(
  tx: Tx,
  clock: Clock,
  request: RequestRow,
  decision: Extract<Decision, { ok: true }>,
  context: TransitionContext,
): Promise<Applied> {
  const now = clock.now();
  const review = reviewOf(request, decision, context, now);
  // A review moves the row's version even when it changes nothing else, so that a review judged
  // without the lock on the version before it cannot land (see DECIDE_IF_UNCHANGED).
  const changes = decisionChanges(request, decision, context, now) ?? (review === undefined ? undefined : { updatedAt: now });
  const updated =
    changes === undefined
      ? request
      : await updateLockedRequest(tx, request, {
          ...changes,
          ...(decision.status === 'revoked' && context.revocation === 'deny-policy' ? await denyPolicyMark(tx, request, now) : {}),
        });
  const events = decisionEvents(updated, decision, context);
  // The review and the events that record it go in one statement.
  if (review === undefined) await appendAudits(tx, clock, events);
  else await insertReviewWithAudit(tx, review, auditEventsJson(events, clock));
  const followUps = request.kind === 'access' && isTerminal(decision.status) && !isTerminal(request.status) ? await expireExtensionsOf(tx, clock, request) : [];
  return { request: updated, review, followUps };
}

/** The review row a decision records, if it records one. */
export function reviewOf(request: RequestRow, decision: Extract<Decision, { ok: true }>, context: TransitionContext, now: Date): ReviewRow | undefined {
  if (!decision.recordsReview || context.review === undefined) return undefined;
  return {
    id: newId('rev'),
    requestId: request.id,
    reviewerId: context.actor.id,
    decision: context.review.decision,
    comment: context.review.comment,
    channel: context.review.channel,
    postHoc: decision.postHoc,
    createdAt: now,
  };
}

/** The request's columns a decision changes (deny-policy marks aside), or undefined when it changes none. */
export function decisionChanges(
  request: RequestRow,
  decision: Extract<Decision, { ok: true }>,
  context: TransitionContext,
  now: Date,
): Partial<Omit<RequestRow, 'scope' | 'evidence' | 'slackMessages'>> | undefined {
  if (decision.status === request.status && decision.window === undefined) return undefined;
  return {
    status: decision.status,
    ...(request.status === 'pending' && decision.status !== 'pending' ? { decidedAt: now, escalateAt: null } : {}),
    ...(decision.window === undefined ? {} : { startsAt: decision.window.startsAt, endsAt: decision.window.endsAt }),
    ...(decision.status === 'revoked' ? { revokedReason: context.reason ?? null } : {}),
    updatedAt: now,
  };
}

/** One audit event per lifecycle event of the decision, describing the request as it leaves it. */
export function decisionEvents(updated: RequestRow, decision: Extract<Decision, { ok: true }>, context: TransitionContext): AuditEntry[] {
  return decision.events.map((event) => ({
    actor: context.actor,
    action: event,
    requestId: updated.id,
    profileId: updated.profileId,
    sourceIp: context.sourceIp,
    details: eventDetails(event, updated, decision, context),
  }));
}

/**
 * An extension still pending when its parent ends can never apply: it expires now, not at its
 * own TTL. The parent's row is locked by the caller; the extensions are locked after it — the
 * order every command touching both keeps (see lockWithParent).
 */
async function expireExtensionsOf(tx: Tx, clock: Clock, parent: RequestRow): Promise<RequestChange[]> {
  const changes: RequestChange[] = [];
  for (const extension of await lockPendingExtensions(tx, parent.id)) {
    const decision = decide(factsOf(extension, []), { kind: 'parent-ended' }, clock.now());
    if (!decision.ok) continue;
    await updateLockedRequest(tx, extension, { status: decision.status, decidedAt: clock.now(), escalateAt: null, updatedAt: clock.now() });
    for (const event of decision.events) {
      await appendAudit(tx, clock, {
        actor: systemActor,
        action: event,
        requestId: extension.id,
        profileId: extension.profileId,
        sourceIp: null,
        details: { reason: 'parent-ended', parentId: parent.id },
      });
    }
    changes.push({ requestId: extension.id, events: decision.events });
  }
  return changes;
}

/**
 * deny-policy revocation is needed only while a credential of the request may still be valid;
 * a pending issuance (STS answer not yet recorded) counts as valid until the window end.
 */
async function denyPolicyMark(tx: Tx, request: RequestRow, now: Date): Promise<Partial<RequestRow>> {
  const expiry = await latestCredentialExpiry(tx, request.id, request.endsAt);
  if (expiry === null || expiry <= now) return {};
  return { denyPolicyStatus: 'pending', revocationCleanupAt: expiry };
}

function eventDetails(
  event: LifecycleEvent,
  request: RequestRow,
  decision: Extract<Decision, { ok: true }>,
  context: TransitionContext,
): Record<string, unknown> {
  switch (event) {
    case 'review.approved':
    case 'review.denied':
      return { comment: context.review?.comment ?? null, channel: context.review?.channel ?? 'api', postHoc: decision.postHoc };
    case 'request.activated':
    case 'request.approved':
      return { startsAt: request.startsAt?.toISOString() ?? null, endsAt: request.endsAt?.toISOString() ?? null, breakGlass: request.breakGlass };
    case 'request.revoked':
      // The window's end as the revocation left it (moved to now when it was open).
      return { reason: context.reason ?? null, endsAt: request.endsAt?.toISOString() ?? null };
    case 'request.cancelled':
      return { reason: context.reason ?? null };
    case 'request.denied':
    case 'request.ended':
    case 'request.expired':
      return {};
  }
}
