import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { hasMfa, type Caller } from '../domain/caller.js';
import { extendedEnd } from '../domain/extension.js';
import { decide } from '../domain/lifecycle.js';
import { Problem } from '../http/problems.js';
import { humanTextField } from '../http/validation.js';
import { isDisabledLocked } from '../principals/repo.js';
import { findRequestProfile } from '../profiles/repo.js';
import { actorOf, isApproverOf, maySeeRequest } from './access.js';
import { afterTransition } from './after-commit.js';
import { applyDecision, factsOf } from './apply-decision.js';
import { applyExtension } from './apply-extension.js';
import { recordChanges, type RequestChange, type RequestEffects } from './effects.js';
import { lockWithParent, reviewsOf, type ReviewRow } from './repo.js';
import { requestApiView, type RequestApiView } from './view.js';

type Deps = { db: Db; clock: Clock; effects: RequestEffects; rolePolicies: RolePolicyStore };

export interface ReviewInput {
  decision: 'approve' | 'deny';
  comment?: string | null;
  channel: 'api' | 'slack';
}

/**
 * One approver's decision (SPEC §2, §3 rules 1, 2, 9). The request row is locked for the whole
 * command, so concurrent reviews are counted one after another: never approved twice, never
 * both denied and approved. A refusal is audited and committed, and changes nothing else.
 */
export async function reviewRequest(deps: Deps, caller: Caller, requestId: string, input: ReviewInput): Promise<RequestApiView> {
  input = { ...input, comment: humanTextField('/body/comment', input.comment, { optional: true }) };
  const outcome = await deps.db.transaction(async (tx) => {
    // An extension's review may move its parent's end: the parent is locked too, first.
    const locked = await lockWithParent(tx, requestId);
    if (locked === undefined) return { refused: new Problem('not-found', 'no such request') };
    const { request, parent } = locked;
    const profile = (await findRequestProfile(tx, request.profileId, request.profileVersion))!;
    const { definition } = profile;

    const refuse = async (problem: Problem, reason: string) => {
      await appendAudit(tx, deps.clock, {
        actor: actorOf(caller),
        action: 'review.refused',
        requestId: request.id,
        profileId: request.profileId,
        sourceIp: caller.sourceIp,
        details: { reason, decision: input.decision, channel: input.channel },
      });
      return { refused: problem };
    };

    if (caller.id === request.requesterId) return refuse(new Problem('self-review', 'no one reviews their own request'), 'self-review');
    const now = deps.clock.now();
    if (!isApproverOf(request, definition, caller, now)) {
      // Someone who may not even see the request learns nothing about it.
      const problem = maySeeRequest(request, definition, caller, now)
        ? new Problem('not-eligible', 'you are not an approver of this profile')
        : new Problem('not-found', 'no such request');
      return refuse(problem, 'not-an-approver');
    }
    if (input.decision === 'approve' && definition.approval.requireApproverMfa && !hasMfa(caller)) {
      const problem = new Problem('condition-failed', 'approvals of this profile need a sign-in with MFA', { condition: 'approver-mfa' });
      return refuse(problem, 'approver-mfa');
    }

    // A disabled person gets no new access, whoever approves: their pending request can still be
    // denied (or left to expire), never approved. Decided here, once, for the API and Slack alike.
    if (input.decision === 'approve' && request.status === 'pending' && (await isDisabledLocked(tx, request.requesterId))) {
      return refuse(new Problem('conflict', 'the requester is disabled: this request can be denied, not approved'), 'requester-disabled');
    }
    if (input.decision === 'approve' && profile.deleted) {
      return refuse(new Problem('invalid-transition', 'the profile of this request was deleted'), 'profile-deleted');
    }
    const reviews = await reviewsOf(tx, [request.id]);
    const decision = decide(factsOf(request, reviews), { kind: input.decision, reviewerId: caller.id }, now);
    if (!decision.ok) {
      const problem =
        decision.reason === 'already-reviewed'
          ? new Problem('already-reviewed', 'you have already reviewed this request')
          : decision.reason === 'self-review'
            ? new Problem('self-review', 'no one reviews their own request')
            : decision.reason === 'expired'
              ? new Problem('invalid-transition', 'the request expired before it was decided')
              : new Problem('invalid-transition', `the request is ${request.status}`);
      return refuse(problem, decision.reason);
    }
    // The approval that completes an extension moves its parent's end, in this transaction; once
    // the parent is no longer active there is nothing to extend (its end expired the extension).
    const extending = request.kind === 'extension' && decision.status === 'ended' ? parent : undefined;
    if (extending !== undefined && !extendedEnd(extending, request, now).ok) {
      return refuse(new Problem('invalid-transition', `the extended request is ${extending.status}`), 'parent-not-active');
    }
    const applied = await applyDecision(tx, deps.clock, request, decision, {
      actor: actorOf(caller),
      sourceIp: caller.sourceIp,
      review: { decision: input.decision, comment: input.comment ?? null, channel: input.channel },
      reason: input.decision === 'deny' ? (input.comment ?? 'denied in post-hoc review') : null,
      revocation: definition.revocation,
    });
    const followUps: RequestChange[] = [...applied.followUps];
    if (extending !== undefined) {
      await applyExtension(tx, deps.clock, extending, applied.request, { actor: actorOf(caller), sourceIp: caller.sourceIp });
      followUps.push({ requestId: extending.id, events: ['request.extended'] });
    }
    // The outbox, the metrics and the answer take what this transaction read and wrote: nothing is read back.
    const known = { request: applied.request, profileName: profile.name };
    const changes = await recordChanges(deps.effects, tx, [{ requestId: request.id, events: decision.events, known }, ...followUps]);
    const allReviews = applied.review === undefined ? reviews : inReviewOrder([...reviews, applied.review]);
    return { view: requestApiView(applied.request, allReviews, profile.name), changes };
  });
  if ('refused' in outcome) throw outcome.refused;
  return afterTransition(deps, outcome);
}

/** The order reviewsOf reads them in (oldest first, then by id), so this answer and a later read agree. */
function inReviewOrder(reviews: ReviewRow[]): ReviewRow[] {
  return reviews.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
