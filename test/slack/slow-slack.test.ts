// Issue 10, item 9: no Slack call runs while a request's row is locked. With Slack hanging on
// chat.update or chat.postMessage, a revoke or a deny of the same request answers at once; the
// message still ends up showing the final state, even when Slack applies an older render last;
// and two syncs never post the same request twice.
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { SlackPostingBusy, syncRequestMessages } from '../../src/slack/sync-messages.js';
import { attemptDelivery } from '../../src/webhooks/deliveries.js';
import { createProfile, openRequest } from '../requests/helpers.js';
import { auth, blocksOf, postsOf, randomSlackId, runDeliveries, slackMessagesOf, startSlackApp, until, type SlackHarness } from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterEach(() => h?.slack.releaseAll());
afterAll(async () => {
  await h?.close();
});

/** Below the Slack client's 5 s timeout: a command that waited on a hanging Slack call would miss it. */
const PROMPT_MS = 4_000;

/** A pending request on a profile with its own channel; its message posted unless `post: false`. */
async function channelRequest(post = true) {
  const profile = await createProfile(h.t, { notify: { slackChannel: randomSlackId('C') } });
  const requester = await h.t.principal({ groups: ['dev'] });
  const approver = await h.t.principal({ groups: ['sre'] });
  const request = await openRequest(h.t, requester.key, { profile: profile.name });
  if (post) await runDeliveries(h);
  return { request, requester, approver };
}

/** The message-sync delivery recorded for `event` of the request. */
async function messageDelivery(requestId: string, event: string): Promise<string> {
  const [row] = await h.t.deps.db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(and(eq(deliveries.requestId, requestId), eq(deliveries.target, 'slack:messages'), eq(deliveries.event, event)));
  if (row === undefined) throw new Error(`no slack:messages delivery of ${event} for ${requestId}`);
  return row.id;
}

/** Runs one delivery as a worker would, in the background; `settled` tells whether it has finished. */
function deliverInBackground(deliveryId: string) {
  const state = { settled: false };
  const done = attemptDelivery(h.t.deps, h.t.deps.webhooks, deliveryId).finally(() => (state.settled = true));
  return { done, state };
}

/** `call` must answer within PROMPT_MS. */
async function promptly<T>(call: PromiseLike<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${PROMPT_MS} ms`)), PROMPT_MS)));
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

const syncDeps = () => ({ db: h.t.deps.db, clock: h.t.deps.clock, slack: h.t.deps.slack!, publicUrl: undefined });

const heldCount = (n: number) => until(() => (h.slack.held().length === n ? true : undefined), 5_000, `${n} Slack call(s) held`);

it('a revoke answers while Slack hangs on updating the message; an older render applied last is rendered over', async () => {
  const { request, requester, approver } = await channelRequest();
  const [ref] = await slackMessagesOf(h, request.id);
  await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve' }).expect(200);

  h.slack.hold('chat.update');
  const activeSync = deliverInBackground(await messageDelivery(request.id, 'request.activated'));
  await heldCount(1);

  const revoked = await promptly(h.t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(requester.key)).send({ reason: 'work done' }));
  expect(revoked.status).toBe(200);
  expect(revoked.body.status).toBe('revoked');
  // Slack still holds the update the approval asked for: the revoke did not wait for it.
  expect(activeSync.state.settled).toBe(false);

  const revokedSync = deliverInBackground(await messageDelivery(request.id, 'request.revoked'));
  await heldCount(2);
  // Slack applies the newer render first, then the older one.
  h.slack.held()[1]!.release();
  expect(await revokedSync.done).toBe('delivered');
  expect(String(h.slack.message(ref!.channel, ref!.ts)?.text)).toMatch(/: Revoked$/);
  h.slack.releaseAll();
  expect(await activeSync.done).toBe('delivered');

  const shown = h.slack.message(ref!.channel, ref!.ts);
  expect(String(shown?.text)).toMatch(/: Revoked$/);
  expect(postsOf(h, request.id)).toHaveLength(1);
});

it('a deny answers while Slack hangs on posting the request; the message posted late shows the denial', async () => {
  const { request, approver } = await channelRequest(false);
  h.slack.hold('chat.postMessage');
  const postSync = deliverInBackground(await messageDelivery(request.id, 'request.created'));
  await heldCount(1);

  const denied = await promptly(h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'deny' }));
  expect(denied.status).toBe(200);
  expect(denied.body.status).toBe('denied');
  expect(postSync.state.settled).toBe(false);
  // The denial's sync finds nothing posted yet and nothing to post for a decided request.
  expect(await attemptDelivery(h.t.deps, h.t.deps.webhooks, await messageDelivery(request.id, 'request.denied'))).toBe('delivered');

  h.slack.releaseAll();
  expect(await postSync.done).toBe('delivered');
  const [ref] = await slackMessagesOf(h, request.id);
  const shown = h.slack.message(ref!.channel, ref!.ts);
  expect(String(shown?.text)).toMatch(/: Denied$/);
  expect(blocksOf({ method: 'chat.update', args: { blocks: shown?.blocks }, token: undefined }).some((b) => b.type === 'actions')).toBe(false);
  expect(postsOf(h, request.id)).toHaveLength(1);
});

it('two syncs at once post the request once: the one without the posting lease retries later', async () => {
  const { request } = await channelRequest(false);
  h.slack.hold('chat.postMessage');
  const first = syncRequestMessages(syncDeps(), request.id);
  await heldCount(1);
  await expect(syncRequestMessages(syncDeps(), request.id)).rejects.toBeInstanceOf(SlackPostingBusy);
  h.slack.releaseAll();
  await first;
  await runDeliveries(h);
  await runDeliveries(h);
  expect(postsOf(h, request.id)).toHaveLength(1);
  expect(await slackMessagesOf(h, request.id)).toHaveLength(1);
});
