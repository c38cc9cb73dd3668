import { eq } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { SlackGateway, SlackMessageRef } from '../adapters/slack.js';
import type { Db } from '../db/client.js';
import { profiles } from '../db/schema.js';
import { findPrincipal } from '../principals/repo.js';
import { findProfileVersion } from '../profiles/repo.js';
import { findRequest, reviewsOf } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { escapeMrkdwn, requesterNotice, requesterNoticeBlocks } from './messages.js';
import { syncRequestMessages } from './sync-messages.js';

type Deps = { db: Db; clock: Clock; slack: SlackGateway; publicUrl: string | undefined };

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
