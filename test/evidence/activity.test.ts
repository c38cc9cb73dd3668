// SPEC §13 activity reports: once access with issued credentials has ended, the `activity` job
// looks up CloudTrail (a stand-in speaking JSON 1.1, reached by the real SDK client) by every
// issued AccessKeyId in the profile's region and us-east-1, paging; passes at the end, at end +
// settle, then every 5 minutes, complete once a settled pass finds nothing new, given up after an
// hour; never more than 2 calls per second per account and region across workers (Redis).
import { and, eq } from 'drizzle-orm';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { activityReports, auditEvents } from '../../src/db/schema.js';
import { runJob } from '../../src/jobs/handlers.js';
import { createProfile, issue, openRequest, revoke, startHarness, type Harness } from '../credentials/helpers.js';
import { auth } from '../support/api.js';
import { startCloudTrailStandIn, type CloudTrailStandIn } from '../support/cloudtrail-stand-in.js';
import { deleteKeysWithPrefix, promote, startWorker, testQueuePrefix, TEST_REDIS_URL } from '../support/queue.js';
import { until } from '../support/server-process.js';

let h: Harness;
let trail: CloudTrailStandIn;
const prefix = testQueuePrefix();
const SETTLE_MS = 900_000;

beforeAll(async () => {
  trail = await startCloudTrailStandIn();
  process.env['AWS_ENDPOINT_URL_CLOUDTRAIL'] = trail.url;
  h = await startHarness({ env: { BREVET_EVIDENCE: 'true', REDIS_URL: TEST_REDIS_URL }, queuePrefix: prefix });
  trail.now = () => h.t.clock.now();
});
afterAll(async () => {
  await h?.close();
  await trail?.close();
  await deleteKeysWithPrefix(prefix);
});
beforeEach(() => {
  trail.down = false;
  trail.pageSize = 50;
});

/** An active grant with `keys` issued credentials, then revoked: its report is open, the first pass due at the last Expiration. */
async function endedGrant(keys: number, profile: Record<string, unknown> = {}) {
  const created = await createProfile(h.t, profile);
  const alice = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, alice.key, created.id);
  const accessKeyIds: string[] = [];
  for (let i = 0; i < keys; i += 1) accessKeyIds.push((await issue(h.t, alice.key, request.id).expect(200)).body.accessKeyId as string);
  await revoke(h.t, alice.key, request.id).expect(200);
  const [report] = await h.t.deps.db.select().from(activityReports).where(eq(activityReports.requestId, request.id));
  return { requestId: request.id, alice, accessKeyIds, endedAt: report!.endedAt };
}

const pass = (requestId: string) => runJob(h.t.deps, 'activity', { requestId });
const reportOf = async (requestId: string) => (await h.t.deps.db.select().from(activityReports).where(eq(activityReports.requestId, requestId)))[0]!;
const at = (endedAt: Date, ms: number) => h.t.clock.set(new Date(endedAt.getTime() + ms));
const activityOf = (key: string, requestId: string) => h.t.http().get(`/v1/requests/${requestId}/activity`).set(auth(key));

describe('a grant whose access ended', () => {
  it('is reported by action, with failed calls counted, from every key, region and page', async () => {
    const grant = await endedGrant(2);
    const [k1, k2] = grant.accessKeyIds as [string, string];
    const t0 = h.t.clock.now();
    const event = (accessKeyId: string, region: string, source: string, name: string, s: number, errorCode?: string) =>
      trail.events.push({ accessKeyId, region, eventSource: source, eventName: name, eventTime: new Date(t0.getTime() + s * 1000), ...(errorCode ? { errorCode } : {}) });
    event(k1, 'eu-west-1', 'ec2.amazonaws.com', 'RunInstances', 10);
    event(k1, 'eu-west-1', 'ec2.amazonaws.com', 'RunInstances', 20, 'Client.UnauthorizedOperation');
    event(k2, 'eu-west-1', 'ec2.amazonaws.com', 'RunInstances', 30);
    event(k2, 'us-east-1', 'iam.amazonaws.com', 'ListRoles', 40);
    event('ASIAOTHERSESSION0000', 'eu-west-1', 'ec2.amazonaws.com', 'TerminateInstances', 50);
    trail.pageSize = 1;

    // Before the end: nothing is asked, the job waits for the end.
    expect(await pass(grant.requestId)).toEqual({ kind: 'later', runAt: grant.endedAt });
    expect(trail.calls).toHaveLength(0);
    await activityOf(grant.alice.key, grant.requestId).expect(200, /"status":"pending"/);

    at(grant.endedAt, 0);
    expect(await pass(grant.requestId)).toEqual({ kind: 'later', runAt: new Date(grant.endedAt.getTime() + SETTLE_MS) });
    // Both keys in the profile's region (the SDK default here) and us-east-1; pages followed by NextToken.
    const asked = trail.calls.map((c) => `${c.region} ${c.accessKeyId} ${c.nextToken === undefined ? 'first' : 'next'}`);
    expect(asked).toEqual(expect.arrayContaining([`eu-west-1 ${k1} first`, `eu-west-1 ${k1} next`, `eu-west-1 ${k2} first`, `us-east-1 ${k2} first`, `us-east-1 ${k1} first`]));
    expect(trail.calls.filter((c) => c.region === 'eu-west-1' && c.accessKeyId === k1)).toHaveLength(2);
    expect(trail.throttled).toBe(0);

    at(grant.endedAt, SETTLE_MS);
    expect(await pass(grant.requestId)).toEqual({ kind: 'done' });
    const report = await activityOf(grant.alice.key, grant.requestId).expect(200);
    expect(report.body).toMatchObject({
      status: 'complete',
      events: 4,
      byAction: { 'ec2:RunInstances': 3, 'iam:ListRoles': 1 },
      errors: 1,
      first: new Date(t0.getTime() + 10_000).toISOString(),
      last: new Date(t0.getTime() + 40_000).toISOString(),
    });
    const [audited] = await h.t.deps.db.select().from(auditEvents).where(and(eq(auditEvents.requestId, grant.requestId), eq(auditEvents.action, 'request.activity')));
    expect(audited).toMatchObject({ actorKind: 'system', details: { status: 'complete', events: 4, errors: 1, byAction: { 'ec2:RunInstances': 3, 'iam:ListRoles': 1 } } });
    // Done is done: another run asks CloudTrail nothing.
    const calls = trail.calls.length;
    expect(await pass(grant.requestId)).toEqual({ kind: 'done' });
    expect(trail.calls).toHaveLength(calls);
  });

  it('keeps looking while CloudTrail is still delivering, and completes once a settled pass finds nothing new', async () => {
    const grant = await endedGrant(1, { region: 'us-east-1' });
    const [key] = grant.accessKeyIds as [string];
    // Made just before the end, delivered 10 minutes after it.
    trail.events.push({ accessKeyId: key, region: 'us-east-1', eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', eventTime: new Date(grant.endedAt.getTime() - 60_000), visibleAt: new Date(grant.endedAt.getTime() + 600_000) });
    at(grant.endedAt, 0);
    await pass(grant.requestId);
    expect((await reportOf(grant.requestId)).events).toBe(0);
    // The settle pass finds the event: something new, so another pass 5 minutes later.
    at(grant.endedAt, SETTLE_MS);
    expect(await pass(grant.requestId)).toEqual({ kind: 'later', runAt: new Date(grant.endedAt.getTime() + SETTLE_MS + 300_000) });
    expect(await reportOf(grant.requestId)).toMatchObject({ status: 'pending', events: 1 });
    at(grant.endedAt, SETTLE_MS + 300_000);
    expect(await pass(grant.requestId)).toEqual({ kind: 'done' });
    expect(await reportOf(grant.requestId)).toMatchObject({ status: 'complete', events: 1, passes: 3 });
  });

  it('never completes on failed passes, says why, and gives up an hour after the end', async () => {
    const grant = await endedGrant(1, { region: 'us-east-1' });
    trail.down = true;
    at(grant.endedAt, 0);
    let result = await pass(grant.requestId);
    expect(await reportOf(grant.requestId)).toMatchObject({ status: 'pending', lastError: expect.any(String) });
    while (result.kind === 'later') {
      h.t.clock.set(result.runAt);
      result = await pass(grant.requestId);
    }
    expect(h.t.clock.now().getTime() - grant.endedAt.getTime()).toBe(3_600_000);
    const report = await activityOf(grant.alice.key, grant.requestId).expect(200);
    // SPEC §13 names two statuses: a report given up stays pending, and says it was given up.
    expect(report.body).toMatchObject({ status: 'pending', givenUp: true, lastError: expect.any(String) });
  });
});

describe('a grant of a role in another account', () => {
  it('cannot be reported with Brevet’s credentials: incomplete at once, saying why, CloudTrail never asked', async () => {
    const grant = await endedGrant(1, { roleArn: 'arn:aws:iam::210987654321:role/Elsewhere' });
    const calls = trail.calls.length;
    at(grant.endedAt, 0);
    expect(await pass(grant.requestId)).toEqual({ kind: 'done' });
    expect(await reportOf(grant.requestId)).toMatchObject({ status: 'incomplete', lastError: expect.stringContaining('not in the account') });
    expect(trail.calls).toHaveLength(calls);
  });
});

describe('who may read a report', () => {
  it('the requester, the approvers and auditors; anyone else gets the 404 of a missing request', async () => {
    const created = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await h.t.principal({ groups: ['sre'] });
    const auditor = await h.t.principal({ groups: ['brevet-auditors'] });
    const mallory = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, created.id);
    await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(bob.key)).send({ decision: 'approve' }).expect(200);
    await issue(h.t, alice.key, request.id).expect(200);
    await revoke(h.t, alice.key, request.id).expect(200);
    for (const key of [alice.key, bob.key, auditor.key, h.t.adminKey]) await activityOf(key, request.id).expect(200);
    const hidden = await activityOf(mallory.key, request.id).expect(404);
    expect(hidden.body.type).toBe('not-found');
    expect((await activityOf(mallory.key, 'req_doesnotexist').expect(404)).body.detail).toBe(hidden.body.detail);
  });
});

describe('the CloudTrail call limit', () => {
  it('holds at 2 calls in any second per account and region across two workers', async () => {
    const grants: Awaited<ReturnType<typeof endedGrant>>[] = [];
    for (let i = 0; i < 4; i += 1) grants.push(await endedGrant(1, { region: 'us-east-1' }));
    for (const grant of grants) {
      for (let s = 0; s < 5; s += 1) {
        trail.events.push({ accessKeyId: grant.accessKeyIds[0]!, region: 'us-east-1', eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', eventTime: new Date(grant.endedAt.getTime() - 60_000 + s * 1000) });
      }
    }
    trail.pageSize = 2; // 3 pages per grant: 12 calls in all
    const latest = new Date(Math.max(...grants.map((g) => g.endedAt.getTime())));
    h.t.clock.set(latest);
    const before = trail.calls.length;
    const workers: Worker[] = [startWorker(h.t, prefix, { concurrency: 2 }), startWorker(h.t, prefix, { concurrency: 2 })];
    const ran = [0, 0];
    workers.forEach((w, i) => w.on('active', () => (ran[i]! += 1)));
    try {
      for (const grant of grants) await promote(h.t, 'activity', grant.requestId);
      await until(async () => {
        const reports = await Promise.all(grants.map((g) => reportOf(g.requestId)));
        return reports.every((r) => r.passes >= 1) ? true : undefined;
      }, 30_000, 'a first pass of every report');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    const calls = trail.calls.slice(before);
    expect(calls).toHaveLength(12);
    expect(trail.throttled).toBe(0);
    const busiest = Math.max(...calls.map((c) => calls.filter((d) => d.at >= c.at && d.at < c.at + 1000).length));
    expect(busiest).toBeLessThanOrEqual(2);
    expect(ran.every((n) => n > 0)).toBe(true);
    for (const grant of grants) expect(await reportOf(grant.requestId)).toMatchObject({ events: 5, status: 'pending' });
  }, 60_000);
});
