// "Shortly before it ends" (SPEC §8): the requester is told once, five minutes before the end,
// through the job or the reconciler, whichever comes first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../src/jobs/reconciler.js';
import { notifyEndingSoon } from '../../src/requests/notify-ending-soon.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startSlackStandIn, type SlackStandIn } from '../support/slack-stand-in.js';
import { auditOf, createProfile, openRequest, reconcileDeps, seconds } from './helpers.js';

let t: TestApp;
let slack: SlackStandIn;
beforeAll(async () => {
  slack = await startSlackStandIn();
  t = await startTestApp({ env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret-for-ending-soon', SLACK_API_URL: slack.url } });
});
afterAll(async () => {
  await t?.close();
  await slack?.close();
});

describe('ending-soon notice', () => {
  it('is said once, five minutes before the end, and reaches the requester in Slack', async () => {
    await createProfile(t, { required: 0 });
    const profile = await createProfile(t, { required: 0 });
    const alice = await t.principal({ groups: ['dev'] });
    await t.http().patch(`/v1/principals/${alice.id}`).set('authorization', `Bearer ${t.adminKey}`).send({ slackUserId: 'UALICE1' }).expect(200);
    const request = await openRequest(t, alice.key, { profile: profile.name });
    expect(request.status).toBe('active');

    t.clock.advance(seconds(900 - 301));
    expect(await notifyEndingSoon(t.deps, request.id)).toBe(false);
    await reconcile(reconcileDeps(t));
    expect(await auditOf(t, request.id, 'request.ending-soon')).toHaveLength(0);

    t.clock.advance(seconds(2));
    await reconcile(reconcileDeps(t));
    await reconcile(reconcileDeps(t));
    expect(await notifyEndingSoon(t.deps, request.id)).toBe(false);
    expect(await auditOf(t, request.id, 'request.ending-soon')).toHaveLength(1);
    const dms = slack.callsTo('chat.postMessage').filter((call) => String(call.args['text']).includes('ends at'));
    expect(dms).toHaveLength(1);
    expect(dms[0]!.args['channel']).toBe('DALICE1');
  });
});
