import { eq, isNotNull, sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { SlackGateway, SlackMessageRef } from '../adapters/slack.js';
import type { Db } from '../db/client.js';
import { principals, profiles } from '../db/schema.js';
import { isInAudience } from '../domain/eligibility.js';
import { approversOf } from '../domain/profile.js';
import { findPrincipal } from '../principals/repo.js';
import { findProfileVersion } from '../profiles/repo.js';
import { findRequest, lockRequest, reviewsOf, updateRequest } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { requestMessage, requesterNotice } from './messages.js';

type Deps = { db: Db; clock: Clock; slack: SlackGateway; publicUrl: string | undefined };

/**
 * Makes the Slack messages of a request show its current state (SPEC §8): posts them the first
 * time (to the profile's channel, or as DMs to each approver with a Slack identity), updates
 * them in place after. It renders the state it reads, so a late or repeated run is harmless.
 *
 * The request row stays locked across the Slack calls: two runs for one request must not both
 * post. Only this request's row waits, for at most the Slack timeout.
 */
export async function syncRequestMessages(deps: Deps, requestId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return;
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
    if (existing.length > 0) {
      for (const ref of existing) await deps.slack.updateMessage(ref, message.text, message.blocks);
      return;
    }
    if (request.status !== 'pending' && !request.breakGlass) return; // Nothing to ask anyone any more.
    const posted: SlackMessageRef[] = [];
    const targets = request.slackChannel !== null ? [request.slackChannel] : await approverDmChannels(deps, definition, request.requesterId);
    for (const channel of targets) posted.push(await deps.slack.postMessage(channel, message.text, message.blocks));
    await updateRequest(tx, requestId, { slackMessages: posted });
  });
}

/** The requester's direct message for one event of their request, if they have a Slack identity. */
export async function notifyRequester(deps: Deps, requestId: string, event: string): Promise<void> {
  const request = await findRequest(deps.db, requestId);
  if (request === undefined) return;
  const requester = await findPrincipal(deps.db, request.requesterId);
  if (requester?.slackUserId == null) return;
  const [profile] = await deps.db.select({ name: profiles.name }).from(profiles).where(eq(profiles.id, request.profileId));
  const text = requesterNotice(event, requestView(request, []), profile?.name ?? request.profileId);
  if (text === undefined) return;
  await deps.slack.postMessage(await deps.slack.openDirectMessage(requester.slackUserId), text);
}

async function approverDmChannels(deps: Deps, definition: Parameters<typeof approversOf>[0], requesterId: string): Promise<string[]> {
  const linked = await deps.db.select().from(principals).where(isNotNull(principals.slackUserId));
  const approvers = linked.filter((p) => !p.disabled && p.id !== requesterId && isInAudience(approversOf(definition), p));
  const channels: string[] = [];
  for (const approver of approvers) channels.push(await deps.slack.openDirectMessage(approver.slackUserId!));
  return channels;
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
}
