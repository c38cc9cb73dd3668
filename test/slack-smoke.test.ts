import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reconcile } from '../src/jobs/reconciler.js';
import { startTestApp, type TestApp } from './support/app.js';
import { startSlackStandIn, type SlackStandIn } from './support/slack-stand-in.js';

let t: TestApp;
let slack: SlackStandIn;
const secret = 'slack-signing-secret-for-tests';
beforeAll(async () => {
  slack = await startSlackStandIn();
  t = await startTestApp({ env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: secret, SLACK_API_URL: slack.url } });
});
afterAll(async () => {
  await t?.close();
  await slack?.close();
});
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

function signed(body: string, at = t.clock.now()) {
  const ts = Math.floor(at.getTime() / 1000);
  const sig = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return { 'x-slack-signature': sig, 'x-slack-request-timestamp': String(ts), 'content-type': 'application/x-www-form-urlencoded' };
}

it('posts the request, approves on click and updates the message', async () => {
  await t.http().post('/v1/profiles').set(auth(t.adminKey)).send({
    name: 'p1', roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'] },
    approval: { required: 1, approverGroups: ['sre'] }, notify: { slackChannel: 'C0123' },
  }).expect(201);
  const alice = await t.principal({ groups: ['dev'] });
  const bob = await t.principal({ groups: ['sre'] });
  slack.users.set('UBOB', bob.email!);
  const r = await t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: 'p1', justification: '<!channel> *bold* <https://evil|Approve>' }).expect(201);
  await reconcile({ ...t.deps, logger: t.deps.logger });
  const post = slack.callsTo('chat.postMessage')[0]!;
  expect(post.args['channel']).toBe('C0123');
  expect(JSON.stringify(post.args['blocks'])).toContain('"action_id":"approve"');

  const payload = JSON.stringify({ type: 'block_actions', user: { id: 'UBOB' }, channel: { id: 'C0123' }, actions: [{ action_id: 'approve', value: r.body.id }] });
  const body = `payload=${encodeURIComponent(payload)}`;
  await t.http().post('/integrations/slack/interactions').set(signed(body)).send(body).expect(200);
  const after = await t.http().get(`/v1/requests/${r.body.id}`).set(auth(alice.key)).expect(200);
  expect(after.body.status).toBe('active');
  expect(after.body.reviews[0]).toMatchObject({ reviewerId: bob.id, channel: 'slack' });
  await reconcile({ ...t.deps, logger: t.deps.logger });
  expect(slack.callsTo('chat.update').length).toBeGreaterThan(0);

  await t.http().post('/integrations/slack/interactions').set({ ...signed(body), 'x-slack-signature': 'v0=00' }).send(body).expect(401);
});
