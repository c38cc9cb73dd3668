import { eq, isNotNull, sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { SlackGateway, SlackMessageRef } from '../adapters/slack.js';
import type { Db } from '../db/client.js';
import { principals, profiles, requests } from '../db/schema.js';
import { isApproverOf, type RequestParties } from '../domain/request-access.js';
import type { Executor } from '../principals/repo.js';
import { findProfileVersion } from '../profiles/repo.js';
import { partiesOf } from '../requests/access.js';
import { lockRequest, reviewsOf, type RequestRow } from '../requests/repo.js';
import { requestView } from '../requests/view.js';
import { findActivityReport } from '../evidence/activity-repo.js';
import { activityView } from '../evidence/activity-view.js';
import { activityLine, requestMessage } from './messages.js';

type Deps = { db: Db; clock: Clock; slack: SlackGateway; publicUrl: string | undefined };

/** How long a sync may post a request's messages before another may: well above a Slack call's 5 s timeout. */
export const POSTING_LEASE_MS = 30_000;
/** Renders one sync makes at most before it leaves the rest to its delivery's retry. */
const MAX_RENDERS = 5;

/** Another sync is posting this request's messages: this one updated what exists and retries later. */
export class SlackPostingBusy extends Error {
  override name = 'SlackPostingBusy';
}

/**
 * Makes the Slack messages of a request show its current state (SPEC §8): posts them the first
 * time (to the profile's channel, or as DMs to each approver with a Slack identity), updates
 * them in place after.
 *
 * No Slack call runs while the request's row is locked (a revoke never waits on Slack): a short
 * transaction claims a render — the next `slackRender` number, and the right to post while
 * `slackPostingUntil` lasts — and renders the state it reads; Slack is called after the commit;
 * each posted message is recorded in a short transaction of its own. Two syncs may therefore
 * call Slack at once, and Slack may apply an older render last. So a sync that finds, once its
 * calls are done, that a later render was claimed renders again: the last sync to finish always
 * shows the state it read after every other claim, which is the current one.
 *
 * Posting is per target: a message that was posted is recorded even when another target failed,
 * and the failure is thrown so the delivery is retried. The retry updates what was posted and
 * posts only where nothing is yet — no approver gets the request twice, and one approver Slack
 * cannot reach does not keep it from the others.
 */
export async function syncRequestMessages(deps: Deps, requestId: string): Promise<void> {
  for (let renders = 0; renders < MAX_RENDERS; renders += 1) {
    const claim = await claimRender(deps, requestId);
    if (claim === undefined) return;
    const failure = await showRender(deps, requestId, claim);
    const superseded = await finishRender(deps, requestId, claim);
    if (failure !== undefined) throw failure;
    if (claim.postingElsewhere) throw new SlackPostingBusy('another sync is posting these messages');
    if (!superseded) return;
  }
  throw new Error('the request kept changing while its Slack messages were updated');
}

interface RenderClaim {
  render: number;
  message: { text: string; blocks: unknown[] };
  /** The messages to update, as recorded when the render was claimed. */
  existing: SlackMessageRef[];
  /** Where to post, when this sync holds the posting lease: the channel, or approvers' Slack user ids to DM. */
  post: { channel: string } | { users: string[] } | undefined;
  /** Posting is due but another sync holds the lease. */
  postingElsewhere: boolean;
}

/** The short transaction before any Slack call: the next render number, the state to show, the posting lease. */
async function claimRender(deps: Deps, requestId: string): Promise<RenderClaim | undefined> {
  return deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return undefined;
    const now = deps.clock.now();
    const existing = request.slackMessages as SlackMessageRef[];
    const reviews = await reviewsOf(tx, [request.id]);
    const postingDue = postsNow(request, existing, reviews.length);
    const leaseFree = request.slackPostingUntil === null || request.slackPostingUntil <= now;
    const posting = postingDue && leaseFree;
    const render = request.slackRender + 1;
    await tx
      .update(requests)
      .set({ slackRender: render, ...(posting ? { slackPostingUntil: new Date(now.getTime() + POSTING_LEASE_MS) } : {}) })
      .where(eq(requests.id, requestId));

    const definition = (await findProfileVersion(tx, request.profileId, request.profileVersion))!;
    const names = await displayNames(tx, [request.requesterId, ...reviews.map((r) => r.reviewerId)]);
    const [profile] = await tx.select({ name: profiles.name }).from(profiles).where(eq(profiles.id, request.profileId));
    const report = await findActivityReport(tx, request.id);
    const message = requestMessage({
      request: requestView(request, reviews),
      profileName: profile?.name.split('~deleted~')[0] ?? request.profileId,
      profile: definition,
      requesterName: names[request.requesterId] ?? request.requesterId,
      reviewerNames: names,
      publicUrl: deps.publicUrl,
      activity: report === undefined || report.status === 'pending' ? null : activityLine(activityView(report)),
    });
    const post = !posting
      ? undefined
      : request.slackChannel !== null
        ? { channel: request.slackChannel }
        : { users: await approversWithSlack(tx, partiesOf(request, definition), now) };
    return { render, message, existing, post, postingElsewhere: postingDue && !leaseFree };
  });
}

/** The Slack calls of one render, outside any transaction; returns the first failure. */
async function showRender(deps: Deps, requestId: string, claim: RenderClaim): Promise<unknown> {
  const { text, blocks } = claim.message;
  let firstFailure: unknown;
  const attempt = async (call: () => Promise<void>) => {
    try {
      await call();
    } catch (error) {
      firstFailure ??= error;
    }
  };
  for (const ref of claim.existing) await attempt(() => deps.slack.updateMessage(ref, text, blocks));
  if (claim.post === undefined) return firstFailure;

  const posted = new Set(claim.existing.map((ref) => ref.channel));
  const postTo = async (target: string) => {
    if (posted.has(target)) return;
    const ref = await deps.slack.postMessage(target, text, blocks);
    posted.add(ref.channel);
    await recordPosted(deps, requestId, ref);
  };
  if ('channel' in claim.post) {
    await attempt(() => postTo((claim.post as { channel: string }).channel));
  } else {
    for (const user of claim.post.users) await attempt(async () => postTo(await deps.slack.openDirectMessage(user)));
  }
  return firstFailure;
}

/** A posted message, recorded at once (a crash later does not post it twice); the posting lease is renewed. */
async function recordPosted(deps: Deps, requestId: string, ref: SlackMessageRef): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return;
    const messages = request.slackMessages as SlackMessageRef[];
    if (messages.some((m) => m.channel === ref.channel && m.ts === ref.ts)) return;
    await tx
      .update(requests)
      .set({ slackMessages: [...messages, ref], slackPostingUntil: new Date(deps.clock.now().getTime() + POSTING_LEASE_MS) })
      .where(eq(requests.id, requestId));
  });
}

/** Ends a render: gives the posting lease back; returns whether a later render was claimed meanwhile. */
async function finishRender(deps: Deps, requestId: string, claim: RenderClaim): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const request = await lockRequest(tx, requestId);
    if (request === undefined) return false;
    if (claim.post !== undefined) await tx.update(requests).set({ slackPostingUntil: null }).where(eq(requests.id, requestId));
    return request.slackRender > claim.render;
  });
}

/**
 * Whether this run posts: the first time, for a request that asks for a decision (or alerts of a
 * break-glass), and for one approved at creation when its profile has a channel (still told
 * there, SPEC §2, without buttons; approvers are not DMed what asks nothing of them);
 * after that only to complete DMs that a failed run left out, while it still asks. A decided
 * request is only ever updated.
 */
function postsNow(request: RequestRow, existing: readonly SlackMessageRef[], reviews: number): boolean {
  // Approved with no review: by Brevet itself at creation (required 0, on-call).
  const approvedAtCreation = (request.status === 'approved' || request.status === 'active') && reviews === 0;
  if (existing.length === 0) return request.status === 'pending' || request.breakGlass || (request.slackChannel !== null && approvedAtCreation);
  const stillAsking = request.status === 'pending' || (request.breakGlass && request.status === 'active');
  return request.slackChannel === null && stillAsking;
}

/** The Slack user ids of the request's approvers now (never its requester, never a disabled one) who have one. */
async function approversWithSlack(db: Executor, request: RequestParties, now: Date): Promise<string[]> {
  const linked = await db.select().from(principals).where(isNotNull(principals.slackUserId));
  return linked.filter((p) => !p.disabled && p.id !== request.requesterId && isApproverOf(request, p, now)).map((p) => p.slackUserId!);
}

async function displayNames(db: Executor, ids: string[]): Promise<Record<string, string>> {
  const rows = await db
    .select({ id: principals.id, displayName: principals.displayName })
    .from(principals)
    .where(sql`${principals.id} = any(${sql.param([...new Set(ids)])}::text[])`);
  return Object.fromEntries(rows.map((row) => [row.id, row.displayName]));
}
