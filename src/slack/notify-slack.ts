import { eq, isNotNull, sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { SlackGateway, SlackMessageRef } from '../adapters/slack.js';
import type { Db } from '../db/client.js';
import { principals, profiles } from '../db/schema.js';
import { isApproverOf, type RequestParties } from '../domain/request-access.js';
import { findPrincipal } from '../principals/repo.js';
import { findProfileVersion } from '../profiles/repo.js';
import { partiesOf } from '../requests/access.js';
import { findRequest, lockRequest, reviewsOf, updateRequest, type RequestRow } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { escapeMrkdwn, requestMessage, requesterNotice, requesterNoticeBlocks } from './messages.js';

type Deps = { db: Db; clock: Clock; slack: SlackGateway; publicUrl: string | undefined };

/**
 * Makes the Slack messages of a request show its current state (SPEC §8): posts them the first
 * time (to the profile's channel, or as DMs to each approver with a Slack identity), updates
 * them in place after. It renders the state it reads, so a late or repeated run is harmless.
 *
 * The request row stays locked across the Slack calls: two runs for one request must not both
 * post. Only this request's row waits, for at most the Slack timeout.
 *
 * Posting is per target: a message that was posted is recorded even when another target failed,
 * and the failure is thrown after commit so the delivery is retried. The retry updates what was
 * posted and posts only where nothing is yet — no approver gets the request twice, and one
 * approver Slack cannot reach does not keep it from the others.
 */
export async function syncRequestMessages(deps: Deps, requestId: string): Promise<void> {
  const failure = await deps.db.transaction(async (tx): Promise<unknown> => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return undefined;
    const definition = (await findProfileVersion(tx, request.profileId, request.profileVersion))!;
    const reviews = await reviewsOf(tx, [request.id]);
    const names = await displayNames(deps, [request.requesterId, ...reviews.map((r) => r.reviewerId)]);
    const [profile] = await tx.select({ name: profiles.name }).from(profiles).where(eq(profiles.id, request.profileId));
    const message = requestMessage({
      request: requestView(request, reviews),
      profileName: profile?.name.split('~deleted~')[0] ?? request.profileId,
      profile: definition,
      requesterName: names[request.requesterId] ?? request.requesterId,
      reviewerNames: names,
      publicUrl: deps.publicUrl,
    });
    const existing = request.slackMessages as SlackMessageRef[];
    for (const ref of existing) await deps.slack.updateMessage(ref, message.text, message.blocks);
    if (!postsNow(request, existing)) return undefined;

    const posted = [...existing];
    let firstFailure: unknown;
    const post = async (targetOf: () => Promise<string>) => {
      try {
        const target = await targetOf();
        if (posted.some((ref) => ref.channel === target)) return;
        posted.push(await deps.slack.postMessage(target, message.text, message.blocks));
      } catch (error) {
        firstFailure ??= error;
      }
    };
    if (request.slackChannel !== null) {
      await post(async () => request.slackChannel!);
    } else {
      for (const approver of await approversWithSlack(deps, partiesOf(request, definition))) {
        await post(() => deps.slack.openDirectMessage(approver));
      }
    }
    if (posted.length > existing.length) await updateRequest(tx, requestId, { slackMessages: posted });
    return firstFailure;
  });
  if (failure !== undefined) throw failure;
}

/** The requester's direct message for one event of their request, if they have a Slack identity. */
export async function notifyRequester(deps: Deps, requestId: string, event: string): Promise<void> {
  const request = await findRequest(deps.db, requestId);
  if (request === undefined) return;
  const requester = await findPrincipal(deps.db, request.requesterId);
  if (requester?.slackUserId == null) return;
  const [profile] = await deps.db.select({ name: profiles.name }).from(profiles).where(eq(profiles.id, request.profileId));
  const view = requestView(request, []);
  const text = requesterNotice(event, view, profile?.name ?? request.profileId);
  if (text === undefined) return;
  await deps.slack.postMessage(await deps.slack.openDirectMessage(requester.slackUserId), text, requesterNoticeBlocks(event, view, text));
}

/**
 * Whether this run posts: the first time, for a request that asks for a decision (or alerts of a
 * break-glass); after that only to complete DMs that a failed run left out, while it still asks.
 * A decided request is only ever updated.
 */
function postsNow(request: RequestRow, existing: readonly SlackMessageRef[]): boolean {
  if (existing.length === 0) return request.status === 'pending' || request.breakGlass;
  const stillAsking = request.status === 'pending' || (request.breakGlass && request.status === 'active');
  return request.slackChannel === null && stillAsking;
}

/** The Slack user ids of the request's approvers now (never its requester, never a disabled one) who have one. */
async function approversWithSlack(deps: Deps, request: RequestParties): Promise<string[]> {
  const now = deps.clock.now();
  const linked = await deps.db.select().from(principals).where(isNotNull(principals.slackUserId));
  return linked.filter((p) => !p.disabled && p.id !== request.requesterId && isApproverOf(request, p, now)).map((p) => p.slackUserId!);
}

async function displayNames(deps: Deps, ids: string[]): Promise<Record<string, string>> {
  const rows = await deps.db
    .select({ id: principals.id, displayName: principals.displayName })
    .from(principals)
    .where(sql`${principals.id} = any(${sql.param([...new Set(ids)])}::text[])`);
  return Object.fromEntries(rows.map((row) => [row.id, row.displayName]));
}

/** Slack deliveries as recorded in the deliveries table: which kind, for which request and event. */
export interface SlackDeliveryPayload {
  requestId: string;
  event: string;
}

export async function deliverToSlack(deps: Deps, target: string, payload: SlackDeliveryPayload): Promise<void> {
  if (target === 'slack:messages') await syncRequestMessages(deps, payload.requestId);
  else if (target === 'slack:requester') await notifyRequester(deps, payload.requestId, payload.event);
  else if (target === 'slack:reminder') await remindInThreads(deps, payload.requestId);
  else if (target === 'slack:escalation') await escalationInThreads(deps, payload.requestId);
}

/**
 * An escalation notice where the profile's approvals go (SPEC §12): in a channel, a reply under
 * the request's message naming the tiers that may now review. With direct messages there is
 * nothing to say here: the message sync posts the request, buttons and all, to the new tier.
 */
async function escalationInThreads(deps: Deps, requestId: string): Promise<void> {
  const request = await findRequest(deps.db, requestId);
  if (request === undefined || request.status !== 'pending' || request.slackChannel === null) return;
  const definition = (await findProfileVersion(deps.db, request.profileId, request.profileVersion))!;
  const groups = [...new Set(definition.approval.escalation.slice(0, request.escalatedTiers).flatMap((tier) => tier.approverGroups))];
  if (groups.length === 0) return;
  const minutes = Math.round((deps.clock.now().getTime() - request.createdAt.getTime()) / 60_000);
  const text = `Escalated: this request still waits for a decision after ${minutes} min; members of ${groups.map(escapeMrkdwn).join(', ')} may now review it too.`;
  for (const ref of request.slackMessages as SlackMessageRef[]) {
    if (ref.channel === request.slackChannel) await deps.slack.postMessage(ref.channel, text, undefined, ref.ts);
  }
}

/** A reminder to approvers (SPEC §5 `remind`): a reply under each message that asks for a decision. */
async function remindInThreads(deps: Deps, requestId: string): Promise<void> {
  const request = await findRequest(deps.db, requestId);
  if (request === undefined || request.status !== 'pending') return;
  const approvals = (await reviewsOf(deps.db, [requestId])).filter((r) => r.decision === 'approve').length;
  const text = `Reminder: this request still waits for a decision (${approvals} of ${request.approvalsRequired} approvals); it expires at ${request.pendingExpiresAt.toISOString()}.`;
  for (const ref of request.slackMessages as SlackMessageRef[]) await deps.slack.postMessage(ref.channel, text, undefined, ref.ts);
}
