// The transactional outbox (issue 10, item 8): the rows that announce a change (webhook and Slack
// deliveries) commit in the change's own transaction. Whatever fails after the commit — Redis
// down, the process gone before it queued anything — the reconciler finds them and they are
// delivered once; a change that rolls back announces nothing.
import type { Worker } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { reconcile } from '../../src/jobs/reconciler.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL, deleteKeysWithPrefix, jobOf, schedulerOf, startWorker, testQueuePrefix } from '../support/queue.js';
import { startSlackStandIn, type SlackStandIn } from '../support/slack-stand-in.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { auditOf, auth, deliveriesOf, openRequest, reconcileDeps, seconds, statusOf, until, type DeliveryRow } from './helpers.js';

const prefix = testQueuePrefix();
let t: TestApp;
let redis: TcpProxy;
let receiver: WebhookReceiver;
let slack: SlackStandIn;
let worker: Worker;
let requester: { id: string; key: string };
let approver: { id: string; key: string };
let profileName: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  slack = await startSlackStandIn();
  const target = new URL(TEST_REDIS_URL);
  redis = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  t = await startTestApp({
    env: {
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      BREVET_WEBHOOK_URLS: receiver.url,
      BREVET_WEBHOOK_SECRET: 'whsec_outbox_test_0123456789',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: 'slack-signing-secret-for-tests',
      SLACK_API_URL: slack.url,
    },
    overrides: { queuePrefix: prefix, notifyBackoffMs: 50 },
  });
  // The worker reaches Redis directly: only the API's side goes down.
  worker = startWorker(t, prefix);
  await worker.waitUntilReady();
  requester = await t.principal({ groups: ['dev'] });
  approver = await t.principal({ groups: ['sre'] });
  profileName = `outbox-${Date.now().toString(36)}`;
  await t
    .http()
    .post('/v1/profiles')
    .set(auth(t.adminKey))
    .send({
      name: profileName,
      roleArn: 'arn:aws:iam::123456789012:role/Admin',
      maxDurationSeconds: 3600,
      defaultDurationSeconds: 900,
      requesters: { groups: ['dev'] },
      approval: { approverGroups: ['sre'], required: 1 },
      notify: { slackChannel: 'C0OUTBOX' },
    })
    .expect(201);
});

afterAll(async () => {
  await worker?.close();
  await t?.close();
  await redis?.close();
  await deleteKeysWithPrefix(prefix);
  await receiver?.close();
  await slack?.close();
});

const EVENTS = ['request.activated', 'request.approved', 'request.created', 'review.approved'];

/** A request opened and approved by the approver: four events (created, review approved, approved, activated). */
async function approvedRequest(justification = 'INC-8 outbox under test'): Promise<string> {
  const request = await openRequest(t, requester.key, { profile: profileName, justification });
  await t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve' }).expect(200);
  return request.id;
}

/** Waits until every delivery of the request has left `pending`. */
function settled(requestId: string): Promise<DeliveryRow[]> {
  return until(
    async () => {
      const rows = await deliveriesOf(t, requestId);
      return rows.length > 0 && rows.every((row) => row.status !== 'pending') ? rows : undefined;
    },
    15_000,
    `the deliveries of ${requestId} to settle`,
  );
}

/** What a catch-up finds: the reconciler sweeps after its grace for jobs in flight has passed. */
async function reconcileLater() {
  t.clock.advance(seconds(61));
  return reconcile(reconcileDeps(t));
}

function webhookEventsOf(requestId: string): string[] {
  return receiver.received
    .map((post) => JSON.parse(post.rawBody) as { event: string; request: { id: string } })
    .filter((body) => body.request.id === requestId)
    .map((body) => body.event)
    .sort();
}

it('Redis down between commit and scheduling: the deliveries wait in the database and the reconciler delivers each once', async () => {
  redis.cut();
  let requestId: string;
  try {
    requestId = (await openRequest(t, requester.key, { profile: profileName })).id;
  } finally {
    redis.restore();
  }
  expect(await statusOf(t, requestId)).toBe('pending');

  // Committed with the request, although no job could be queued.
  const waiting = await deliveriesOf(t, requestId);
  expect(waiting.map((row) => [row.target, row.event])).toEqual(
    expect.arrayContaining([
      [receiver.url, 'request.created'],
      ['slack:messages', 'request.created'],
    ]),
  );
  expect(waiting.every((row) => row.status === 'pending' && row.attemptCount === 0)).toBe(true);

  await until(() => schedulerOf(t).ping().then(() => true, () => undefined), 10_000, 'Redis reachable again');
  expect(await jobOf(t, 'expire-pending', requestId)).toBeUndefined();
  const report = await reconcileLater();
  expect(report.deliveries).toBe(waiting.length);

  const rows = await settled(requestId);
  expect(rows.every((row) => row.status === 'delivered')).toBe(true);
  expect(webhookEventsOf(requestId)).toEqual(['request.created']);
  // The channel shows the request once, and a later sweep sends nothing again.
  const posts = () => slack.callsTo('chat.postMessage').filter((call) => JSON.stringify(call.args).includes(requestId));
  expect(posts()).toHaveLength(1);
  await reconcileLater();
  expect(webhookEventsOf(requestId)).toEqual(['request.created']);
  expect(posts()).toHaveLength(1);
});

it('the process gone right after the commit: nothing was queued, and the reconciler delivers what the change recorded', async () => {
  // As a crash between COMMIT and the queue: the after-commit step never runs.
  const afterCommit = vi.spyOn(t.deps.effects, 'afterCommit').mockResolvedValue(undefined);
  let requestId: string;
  try {
    requestId = await approvedRequest();
  } finally {
    afterCommit.mockRestore();
  }
  const waiting = await deliveriesOf(t, requestId);
  expect(waiting.filter((row) => row.target === receiver.url)).toHaveLength(EVENTS.length);
  expect(await schedulerOf(t).queue.getJob(`notify-${waiting[0]!.id}`)).toBeUndefined();

  await reconcileLater();
  await settled(requestId);
  expect(webhookEventsOf(requestId)).toEqual(EVENTS);
});

it('a change that rolls back at COMMIT leaves no delivery row, and nothing is ever announced for it', async () => {
  const requestId = await approvedRequest('INC-8 outbox rollback at commit');
  await settled(requestId);
  // A deferred constraint trigger fails the transaction at COMMIT, after every statement of the
  // revocation (state, audit, deliveries) ran: the whole change must go.
  await sqlOnTestDatabase(`
    create function outbox_test_fail() returns trigger language plpgsql as $$
    begin raise exception 'outbox test: commit refused'; end $$;
    create constraint trigger outbox_test_fail after update on requests deferrable initially deferred
      for each row when (new.status = 'revoked' and new.justification = 'INC-8 outbox rollback at commit')
      execute function outbox_test_fail();`);
  try {
    const revoke = await t.http().post(`/v1/requests/${requestId}/revoke`).set(auth(requester.key)).send({ reason: 'done early' });
    expect(revoke.status).toBe(500);
  } finally {
    await sqlOnTestDatabase('drop trigger outbox_test_fail on requests; drop function outbox_test_fail();');
  }
  expect(await statusOf(t, requestId)).toBe('active');
  expect(await auditOf(t, requestId, 'request.revoked')).toHaveLength(0);
  expect((await deliveriesOf(t, requestId)).filter((row) => row.event === 'request.revoked')).toHaveLength(0);
  await reconcileLater();
  expect(webhookEventsOf(requestId)).not.toContain('request.revoked');
});

async function sqlOnTestDatabase(statements: string): Promise<void> {
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  try {
    await client.query(statements);
  } finally {
    await client.end();
  }
}
