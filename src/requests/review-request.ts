import type { Clock } from '../adapters/clock.js';
import type { RolePolicyStore } from '../adapters/aws/iam.js';
import { appendAudit, auditEventsJson } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { hasMfa, type Caller } from '../domain/caller.js';
import { extendedEnd } from '../domain/extension.js';
import { decide, type Decision } from '../domain/lifecycle.js';
import type { ProfileDefinition } from '../domain/profile.js';
import { Problem } from '../http/problems.js';
import { humanTextField } from '../http/validation.js';
import { isDisabledLocked, type Executor } from '../principals/repo.js';
import { findRequestProfile } from '../profiles/repo.js';
import { actorOf, isApproverOf } from './access.js';
import { afterTransition } from './after-commit.js';
import { applyDecision, decisionChanges, decisionEvents, factsOf, reviewOf, type TransitionContext } from './apply-decision.js';
import { applyExtension } from './apply-extension.js';
import { recordChanges, type RequestChange, type RequestEffects } from './effects.js';
import { decideIfUnchanged, lockWithParent, readDecisionContext, reviewsOf, type DecisionContext, type RequestRow, type ReviewRow } from './repo.js';
import { requestApiView, type RequestApiView } from './view.js';

type Deps = { db: Db; clock: Clock; effects: RequestEffects; rolePolicies: RolePolicyStore };

export interface ReviewInput {
  decision: 'approve' | 'deny';
  comment?: string | null;
  channel: 'api' | 'slack';
}

/** Tries without a lock before a review of a request that keeps changing waits for its row lock instead. */
const UNLOCKED_ATTEMPTS = 3;

/**
 * One approver's decision (SPEC §2, §3 rules 1, 2, 9). A pending request is judged on one
 * consistent read and decided in one statement that lands only if the request row is still the
 * version it was judged on (every review moves it): concurrent reviews are counted one after
 * another, never approved twice, never both denied and approved; the one that lost is judged
 * again on a fresh read (after UNLOCKED_ATTEMPTS, with the row locked). Anything else (an
 * extension, a post-hoc review of an active grant, a change with deliveries to record) is judged
 * with the request row locked for the whole command. A refusal is audited and committed, and
 * changes nothing else.
 */
export async function reviewRequest(
  deps: Deps,
  caller: Caller,
  requestId: string,
  input: ReviewInput,
  firstRead?: Promise<DecisionContext | undefined>,
): Promise<RequestApiView> {
  input = { ...input, comment: humanTextField('/body/comment', input.comment, { optional: true }) };
  for (let attempt = 1; attempt <= UNLOCKED_ATTEMPTS; attempt += 1) {
    // A read started while the caller was being authenticated (src/http/read-ahead.ts) may be a
    // moment old: it may lead to a decision (which lands only if nothing changed), never to a refusal.
    const early = attempt === 1 && firstRead !== undefined;
    const context = await (early ? firstRead : readDecisionContext(deps.db, requestId));
    const decided = await decidePending(deps, caller, context, input, { mayRefuse: !early });
    if (decided === 'needs-lock') break;
    if (decided !== 'changed') return decided;
  }
  return reviewLocked(deps, caller, requestId, input);
}

/** The review of a pending access request without a lock (see reviewRequest); 'needs-lock' for any other review; 'changed' to judge it again on a fresh read. */
async function decidePending(
  deps: Deps,
  caller: Caller,
  context: DecisionContext | undefined,
  input: ReviewInput,
  { mayRefuse }: { mayRefuse: boolean },
): Promise<RequestApiView | 'changed' | 'needs-lock'> {
  if (context === undefined) {
    if (!mayRefuse) return 'changed';
    throw new Problem('not-found', 'no such request');
  }
  const { request, definition, profileName, reviews } = context;
  // Only an active grant has extensions (SPEC §12): deciding a pending one expires none.
  if (request.kind !== 'access' || request.status !== 'pending') return 'needs-lock';
  const now = deps.clock.now();
  const judged = judgeReview({ ...context, parent: undefined }, caller, input, now);
  if ('refused' in judged) {
    if (!mayRefuse) return 'changed';
    await auditRefusal(deps.db, deps, caller, request, input, judged.reason);
    throw judged.refused;
  }
  const { decision } = judged;
  const transition = transitionContext(caller, input, definition);
  const review = reviewOf(request, decision, transition, now)!;
  const updated: RequestRow = { ...request, ...decisionChanges(request, decision, transition, now), updatedAt: now };
  const recorded = deps.effects.recordWithoutWrites({ requestId: request.id, events: decision.events, known: { request: updated, profileName } });
  if (recorded === undefined) return 'needs-lock';
  const events = auditEventsJson(decisionEvents(updated, decision, transition), deps.clock);
  const judgedOn = { rowVersion: context.rowVersion, approving: input.decision === 'approve' };
  if (!(await decideIfUnchanged(deps.db, judgedOn, updated, updated.status !== request.status, review, events))) return 'changed';
  return afterTransition(deps, { view: requestApiView(updated, inReviewOrder([...reviews, review]), profileName), changes: [recorded] });
}

/** The review with the request row (and an extension's parent) locked for the whole command. */
async function reviewLocked(deps: Deps, caller: Caller, requestId: string, input: ReviewInput): Promise<RequestApiView> {
  const outcome = await deps.db.transaction(async (tx) => {
    // An extension's review may move its parent's end: the parent is locked too, first.
    const locked = await lockWithParent(tx, requestId);
    if (locked === undefined) return { refused: new Problem('not-found', 'no such request') };
    const { request, parent } = locked;
    const profile = (await findRequestProfile(tx, request.profileId, request.profileVersion))!;
    const { definition } = profile;
    const now = deps.clock.now();
    // A disabled person gets no new access: only an approval of a pending request asks, and
    // share-locks the requester's row until the decision commits.
    const requesterDisabled = input.decision === 'approve' && request.status === 'pending' && (await isDisabledLocked(tx, request.requesterId));
    const reviews = await reviewsOf(tx, [request.id]);
    const judged = judgeReview({ request, parent, definition, profileDeleted: profile.deleted, requesterDisabled, reviews }, caller, input, now);
    if ('refused' in judged) {
      await auditRefusal(tx, deps, caller, request, input, judged.reason);
      return { refused: judged.refused };
    }
    const { decision, extending } = judged;
    const applied = await applyDecision(tx, deps.clock, request, decision, transitionContext(caller, input, definition));
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

interface ReviewFacts {
  request: RequestRow;
  /** The extended request, for an extension. */
  parent: RequestRow | undefined;
  definition: ProfileDefinition;
  profileDeleted: boolean;
  /** Read only for an approval of a pending request (false otherwise). */
  requesterDisabled: boolean;
  reviews: ReviewRow[];
}

type Judged = { refused: Problem; reason: string } | { decision: Extract<Decision, { ok: true }>; extending: RequestRow | undefined };

/** Whether the caller's review is accepted and what it decides, from what was read (no I/O). */
function judgeReview(facts: ReviewFacts, caller: Caller, input: ReviewInput, now: Date): Judged {
  const { request, parent, definition } = facts;
  const refuse = (refused: Problem, reason: string): Judged => ({ refused, reason });
  if (caller.id === request.requesterId) return refuse(new Problem('self-review', 'no one reviews their own request'), 'self-review');
  if (!isApproverOf(request, definition, caller, now)) {
    // SPEC §7's not-eligible (rule 2), even for someone who may not read the request: that its
    // id exists is all it tells (ids are random), and the refusal is audited (rule 9).
    return refuse(new Problem('not-eligible', 'you are not an approver of this profile'), 'not-an-approver');
  }
  if (input.decision === 'approve' && definition.approval.requireApproverMfa && !hasMfa(caller)) {
    return refuse(new Problem('condition-failed', 'approvals of this profile need a sign-in with MFA', { condition: 'approver-mfa' }), 'approver-mfa');
  }
  // A disabled person gets no new access, whoever approves: their pending request can still be
  // denied (or left to expire), never approved. Decided here, once, for the API and Slack alike.
  if (input.decision === 'approve' && request.status === 'pending' && facts.requesterDisabled) {
    return refuse(new Problem('conflict', 'the requester is disabled: this request can be denied, not approved'), 'requester-disabled');
  }
  if (input.decision === 'approve' && facts.profileDeleted) {
    return refuse(new Problem('invalid-transition', 'the profile of this request was deleted'), 'profile-deleted');
  }
  const decision = decide(factsOf(request, facts.reviews), { kind: input.decision, reviewerId: caller.id }, now);
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
  return { decision, extending };
}

function transitionContext(caller: Caller, input: ReviewInput, definition: ProfileDefinition): TransitionContext {
  return {
    actor: actorOf(caller),
    sourceIp: caller.sourceIp,
    review: { decision: input.decision, comment: input.comment ?? null, channel: input.channel },
    reason: input.decision === 'deny' ? (input.comment ?? 'denied in post-hoc review') : null,
    revocation: definition.revocation,
  };
}

/** A refused review, audited (SPEC §3 rule 9): in the command's transaction, or by itself. */
async function auditRefusal(db: Executor, deps: Deps, caller: Caller, request: RequestRow, input: ReviewInput, reason: string): Promise<void> {
  await appendAudit(db, deps.clock, {
    actor: actorOf(caller),
    action: 'review.refused',
    requestId: request.id,
    profileId: request.profileId,
    sourceIp: caller.sourceIp,
    details: { reason, decision: input.decision, channel: input.channel },
  });
}

/** The order reviewsOf reads them in (oldest first, then by id), so this answer and a later read agree. */
function inReviewOrder(reviews: ReviewRow[]): ReviewRow[] {
  return reviews.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
