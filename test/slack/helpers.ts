// Shared helpers for the Slack acceptance tests (SPEC §8): the real app with Slack configured,
// pointed at the local Web API stand-in; requests signed exactly as Slack signs them; deliveries
// run by the reconciler, as in dev mode; answers sent after the HTTP 200 awaited with a deadline.
import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { SlackMessageRef } from '../../src/adapters/slack.js';
import { deliveries, principals, requests } from '../../src/db/schema.js';
import { reconcile } from '../../src/jobs/reconciler.js';
import { auth, startListeningApp } from '../requests/helpers.js';
import type { TestApp } from '../support/app.js';
import { until } from '../support/server-process.js';
import { randomSlackId, startSlackStandIn, type SlackCall, type SlackStandIn } from '../support/slack-stand-in.js';

export { auth, randomSlackId, until };

export const SIGNING_SECRET = 'slack-signing-secret-for-tests';
export const PUBLIC_URL = 'https://brevet.example.com';
export const FORM = 'application/x-www-form-urlencoded';

export interface SlackHarness {
  t: TestApp;
  slack: SlackStandIn;
  close(): Promise<void>;
}

/**
 * The app listening on loopback (concurrent clicks need a real server) with Slack configured
 * against a fresh stand-in. Nothing runs deliveries in the background: tests call `runDeliveries`.
 */
export async function startSlackApp(env: Record<string, string> = {}): Promise<SlackHarness> {
  const slack = await startSlackStandIn();
  const t = await startListeningApp({
    env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.url, BREVET_PUBLIC_URL: PUBLIC_URL, ...env },
  });
  return {
    t,
    slack,
    async close() {
      await t.close();
      await slack.close();
    },
  };
}

/** Slack's v0 signature headers for `body` at `at` (default: the app's clock). */
export function slackHeaders(body: string, at: Date, secret = SIGNING_SECRET): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp), 'content-type': FORM };
}

/** The form body of a block_actions interaction, as Slack posts it for a button click. */
export function clickBody(slackUserId: string, action: 'approve' | 'deny', requestId: string, channel = 'C0CHANNEL'): string {
  const payload = {
    type: 'block_actions',
    user: { id: slackUserId, username: 'someone', team_id: 'T0TEAM' },
    team: { id: 'T0TEAM', domain: 'example' },
    api_app_id: 'A0BREVET',
    channel: { id: channel, name: 'access' },
    container: { type: 'message', message_ts: '1700000001.000100', channel_id: channel },
    trigger_id: '123.456.abc',
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1/abc',
    actions: [{ type: 'button', action_id: action, block_id: `review:${requestId}`, value: requestId, action_ts: '1700000002.000000' }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export function postSigned(h: SlackHarness, path: string, body: string, at = h.t.clock.now()) {
  return h.t.http().post(path).set(slackHeaders(body, at)).send(body);
}

/** A signed Approve or Deny click. */
export function click(h: SlackHarness, slackUserId: string, action: 'approve' | 'deny', requestId: string, channel?: string) {
  return postSigned(h, '/integrations/slack/interactions', clickBody(slackUserId, action, requestId, channel));
}

/** A signed `/brevet …` slash command; Slack answers the caller with the returned text. */
export function command(h: SlackHarness, slackUserId: string, text: string) {
  const body = new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0TEAM',
    api_app_id: 'A0BREVET',
    channel_id: 'C0CHANNEL',
    user_id: slackUserId,
    user_name: 'someone',
    command: '/brevet',
    text,
    response_url: 'https://hooks.slack.com/commands/T0TEAM/1/abc',
    trigger_id: '123.456.abc',
  }).toString();
  return postSigned(h, '/integrations/slack/commands', body);
}

/** Runs every due delivery (Slack messages, requester DMs) the way dev mode's reconciler does. */
export async function runDeliveries(h: SlackHarness): Promise<void> {
  await reconcile({ ...h.t.deps, logger: h.t.deps.logger });
}

/** A person with a Slack account known to users.info and, unless `linked: false`, linked by an admin. */
export async function slackPerson(
  h: SlackHarness,
  input: { groups: string[]; displayName?: string; email?: string; linked?: boolean },
): Promise<{ id: string; key: string; email: string; slackUserId: string }> {
  const person = await h.t.principal({ groups: input.groups, displayName: input.displayName, email: input.email });
  const slackUserId = randomSlackId('U');
  h.slack.users.set(slackUserId, person.email!);
  if (input.linked !== false) {
    await h.t.http().patch(`/v1/principals/${person.id}`).set(auth(h.t.adminKey)).send({ slackUserId }).expect(200);
  }
  return { ...person, email: person.email!, slackUserId };
}

let groups = 0;
/** A group name no other test uses, so DMs to "every approver" stay within one test. */
export function uniqueGroup(prefix: string): string {
  groups += 1;
  return `${prefix}-${groups}-${Date.now().toString(36)}`;
}

const mentions = (call: SlackCall, requestId: string) => JSON.stringify(call.args).includes(requestId);

/** chat.postMessage calls that show the request (its id is in the blocks and fallback text). */
export function postsOf(h: SlackHarness, requestId: string): SlackCall[] {
  return h.slack.callsTo('chat.postMessage').filter((call) => mentions(call, requestId));
}

export function updatesOf(h: SlackHarness, requestId: string): SlackCall[] {
  return h.slack.callsTo('chat.update').filter((call) => mentions(call, requestId));
}

export function lastUpdateOf(h: SlackHarness, requestId: string): SlackCall {
  const updates = updatesOf(h, requestId);
  expect(updates.length, `chat.update calls for ${requestId}`).toBeGreaterThan(0);
  return updates.at(-1)!;
}

/** The ephemeral answers sent to one Slack user, in order. */
export function ephemeralsTo(h: SlackHarness, slackUserId: string): SlackCall[] {
  return h.slack.callsTo('chat.postEphemeral').filter((call) => call.args['user'] === slackUserId);
}

/** Waits (with a deadline, no fixed sleep) until the user has received `count` ephemeral answers. */
export async function ephemeralTexts(h: SlackHarness, slackUserId: string, count = 1): Promise<string[]> {
  const calls = await until(
    () => {
      const sent = ephemeralsTo(h, slackUserId);
      return sent.length >= count ? sent : undefined;
    },
    5_000,
    `${count} ephemeral answer(s) to ${slackUserId}`,
  );
  return calls.map((call) => String(call.args['text']));
}

/** The text of every text object in a Block Kit tree, with its type (plain_text or mrkdwn). */
export function textObjects(node: unknown, found: { type: string; text: string }[] = []): { type: string; text: string }[] {
  if (Array.isArray(node)) {
    for (const item of node) textObjects(item, found);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if ((record['type'] === 'plain_text' || record['type'] === 'mrkdwn') && typeof record['text'] === 'string') {
      found.push({ type: record['type'], text: record['text'] });
    }
    for (const value of Object.values(record)) textObjects(value, found);
  }
  return found;
}

/** All the words a message shows, for "does it say X" assertions. */
export function shownText(call: SlackCall): string {
  return textObjects(call.args['blocks']).map((t) => t.text).join('\n');
}

export function blocksOf(call: SlackCall): { type: string; block_id?: string; elements?: Record<string, unknown>[] }[] {
  return call.args['blocks'] as { type: string; block_id?: string; elements?: Record<string, unknown>[] }[];
}

export async function slackMessagesOf(h: SlackHarness, requestId: string): Promise<SlackMessageRef[]> {
  const [row] = await h.t.deps.db.select({ slackMessages: requests.slackMessages }).from(requests).where(eq(requests.id, requestId));
  return (row?.slackMessages ?? []) as SlackMessageRef[];
}

export async function slackDeliveriesOf(h: SlackHarness, requestId: string) {
  const rows = await h.t.deps.db.select().from(deliveries).where(eq(deliveries.requestId, requestId));
  return rows.filter((row) => row.target.startsWith('slack:'));
}

export async function slackUserIdOf(h: SlackHarness, principalId: string): Promise<string | null> {
  const [row] = await h.t.deps.db.select({ slackUserId: principals.slackUserId }).from(principals).where(eq(principals.id, principalId));
  return row?.slackUserId ?? null;
}
