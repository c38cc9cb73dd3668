import type { Scope } from '../domain/session-policy.js';
import type { Evidence } from '../domain/evidence.js';
import type { RequestRow, ReviewRow } from './repo.js';

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** A request as webhooks and Slack carry it. */
export function requestView(request: RequestRow, reviews: readonly ReviewRow[]) {
  return {
    id: request.id,
    kind: request.kind,
    parentId: request.parentId,
    status: request.status,
    profileId: request.profileId,
    profileVersion: request.profileVersion,
    requesterId: request.requesterId,
    durationSeconds: request.durationSeconds,
    justification: request.justification,
    ticket: request.ticket,
    scope: (request.scope as Scope | null) ?? null,
    breakGlass: request.breakGlass,
    startsAt: iso(request.startsAt),
    endsAt: iso(request.endsAt),
    pendingExpiresAt: request.pendingExpiresAt.toISOString(),
    approvalsRequired: request.approvalsRequired,
    /** SPEC §13: what the grant may allow of the profile's sensitive actions; null when not checked. */
    evidence: (request.evidence as Evidence | null) ?? null,
    reviews: reviews
      .filter((review) => review.requestId === request.id)
      .map((review) => ({
        reviewerId: review.reviewerId,
        decision: review.decision,
        comment: review.comment,
        channel: review.channel,
        postHoc: review.postHoc,
        createdAt: review.createdAt.toISOString(),
      })),
    revokedReason: request.revokedReason,
    denyPolicyStatus: request.denyPolicyStatus,
    createdAt: request.createdAt.toISOString(),
    updatedAt: request.updatedAt.toISOString(),
  };
}

export type RequestView = ReturnType<typeof requestView>;

/** A request as the API answers it: with its profile's current name, so clients need not look it up. */
export type RequestApiView = RequestView & { profileName: string };

export function requestApiView(request: RequestRow, reviews: readonly ReviewRow[], profileName: string): RequestApiView {
  const { profileId, ...rest } = requestView(request, reviews);
  return { ...rest, profileId, profileName };
}
