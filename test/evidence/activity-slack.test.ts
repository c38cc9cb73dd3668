// SPEC §13, end to end in dev mode (no Redis: the reconciler runs the activity passes): a revoked
// grant's report completes, the request's Slack message gets its one-line summary, and the
// request.activity webhook carries the report.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityReports, deliveries } from '../../src/db/schema.js';
import { auth, uniqueName } from '../support/api.js';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in.js';
import { startCloudTrailStandIn, type CloudTrailStandIn } from '../support/cloudtrail-stand-in.js';
import { randomSlackId, runDeliveries, shownText, startSlackApp, updatesOf, type SlackHarness } from '../slack/helpers.js';

let h: SlackHarness;
let aws: AwsStandIn;
let trail: CloudTrailStandIn;

beforeAll(async () => {
  aws = await startAwsStandIn();
  trail = await startCloudTrailStandIn();
  process.env['AWS_ENDPOINT_URL_STS'] = aws.url;
  process.env['AWS_ENDPOINT_URL_IAM'] = aws.url;
  process.env['AWS_ENDPOINT_URL_CLOUDTRAIL'] = trail.url;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDBREVETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'brevet-own-secret';
  process.env['AWS_REGION'] = 'us-east-1';
  h = await startSlackApp({ BREVET_EVIDENCE: 'true', BREVET_WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', BREVET_WEBHOOK_SECRET: 'webhook-secret' });
  aws.now = () => h.t.clock.now();
  trail.now = () => h.t.clock.now();
});
afterAll(async () => {
  await h?.close();
  await aws?.close();
  await trail?.close();
});

describe('a finished activity report', () => {
  it('is summed up on the request’s Slack message and sent with the request.activity webhook', async () => {
    const channel = randomSlackId('C');
    const profile = await h.t
      .http()
      .post('/v1/profiles')
      .set(auth(h.t.adminKey))
      .send({ name: uniqueName(), roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'] }, approval: { required: 1, approverGroups: ['sre'] }, notify: { slackChannel: channel } })
      .expect(201);
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = (await h.t.http().post('/v1/requests').set(auth(alice.key)).send({ profile: profile.body.id, durationSeconds: 900, justification: 'INC-3 look at the instances' }).expect(201)).body;
    await runDeliveries(h); // the message to approvers
    const bob = await h.t.principal({ groups: ['sre'] });
    await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(bob.key)).send({ decision: 'approve' }).expect(200);
    const { accessKeyId } = (await h.t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(alice.key)).send({ format: 'json' }).expect(200)).body;
    for (const name of ['RunInstances', 'RunInstances', 'DescribeInstances']) {
      trail.events.push({ accessKeyId, region: 'us-east-1', eventSource: 'ec2.amazonaws.com', eventName: name, eventTime: h.t.clock.now() });
    }
    await h.t.http().post(`/v1/requests/${request.id}/revoke`).set(auth(alice.key)).send({ reason: 'done' }).expect(200);
    await runDeliveries(h);

    const [report] = await h.t.deps.db.select().from(activityReports).where(eq(activityReports.requestId, request.id));
    h.t.clock.set(report!.endedAt);
    await runDeliveries(h); // the pass at the end
    h.t.clock.advance(900_000);
    await runDeliveries(h); // the settle pass: nothing new, complete
    await runDeliveries(h); // its Slack update and webhook

    const shown = shownText(updatesOf(h, request.id).at(-1)!);
    expect(shown).toContain('Activity: 3 CloudTrail events: ec2:RunInstances ×2, ec2:DescribeInstances ×1');
    const [webhook] = await h.t.deps.db.select().from(deliveries).where(and(eq(deliveries.requestId, request.id), eq(deliveries.event, 'request.activity')));
    expect(webhook!.payload).toMatchObject({ request: { id: request.id, status: 'revoked' }, activity: { status: 'complete', events: 3, errors: 0, byAction: { 'ec2:RunInstances': 2, 'ec2:DescribeInstances': 1 } } });
  });
});
