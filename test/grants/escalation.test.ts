// SPEC §12 escalation, with the injected clock: a tier's approvers may review a request still
// pending after afterSeconds — through the API, in lists and by Slack click — and not a moment
// before; the tier is told (audited request.escalated by system, webhook, Slack where approvals
// go), once; nothing escalates once the request is decided.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, deliveries } from '../../src/db/schema.js';
import { reconcile } from '../../src/jobs/reconciler.js';
import { createProfile } from '../support/api.js';
import { auth, click, ephemeralTexts, postsOf, runDeliveries, slackPerson, startSlackApp, uniqueGroup, type SlackHarness } from '../slack/helpers.js';

let h: SlackHarness;

beforeAll(async () => {
  h = await startSlackApp({ BREVET_WEBHOOK_URLS: 'http://127.0.0.1:9/hooks', BREVET_WEBHOOK_SECRET: 'whsec-test' });
});
afterAll(async () => {
  await h?.close();
});

const TIER_SECONDS = 900;

/** A pending request of a profile whose tier (a group of its own) joins after 900 s. */
async function pendingRequest(options: { slackChannel?: string } = {}) {
  const approvers = uniqueGroup('sre');
  const leads = uniqueGroup('leads');
  const profile = await createProfile(h.t, {
    approval: { required: 1, approverGroups: [approvers], escalation: [{ afterSeconds: TIER_SECONDS, approverGroups: [leads] }] },
    ...(options.slackChannel === undefined ? {} : { notify: { slackChannel: options.slackChannel } }),
  });
  const requester = await slackPerson(h, { groups: ['dev'] });
  const approver = await slackPerson(h, { groups: [approvers] });
  const lead = await slackPerson(h, { groups: [leads] });
  const created = await h.t.http().post('/v1/requests').set(auth(requester.key)).send({ profile: profile.id, durationSeconds: 900, justification: 'INC-9 waiting for someone' }).expect(201);
  return { id: created.body.id as string, createdAt: new Date(created.body.createdAt as string), requester, approver, lead, leads };
}

const at = (createdAt: Date, seconds: number) => h.t.clock.set(new Date(createdAt.getTime() + seconds * 1000));
const sweep = () => reconcile({ ...h.t.deps, logger: h.t.deps.logger });

async function escalations(requestId: string) {
  return h.t.deps.db.select().from(auditEvents).where(and(eq(auditEvents.requestId, requestId), eq(auditEvents.action, 'request.escalated')));
}

async function reviewableBy(key: string): Promise<string[]> {
  const response = await h.t.http().get('/v1/requests?reviewable=true&status=pending').set(auth(key)).expect(200);
  return (response.body.items as { id: string }[]).map((item) => item.id);
}

describe('before the moment, a tier member is not an approver on any path', () => {
  it('API: not visible, not listed, a review is refused; Slack: a click changes nothing', async () => {
    const r = await pendingRequest();
    at(r.createdAt, TIER_SECONDS - 1);
    await h.t.http().get(`/v1/requests/${r.id}`).set(auth(r.lead.key)).expect(404);
    expect(await reviewableBy(r.lead.key)).not.toContain(r.id);
    const all = await h.t.http().get('/v1/requests').set(auth(r.lead.key)).expect(200);
    expect((all.body.items as { id: string }[]).map((i) => i.id)).not.toContain(r.id);
    await h.t.http().post(`/v1/requests/${r.id}/reviews`).set(auth(r.lead.key)).send({ decision: 'approve' }).expect(403);

    expect((await click(h, r.lead.slackUserId, 'approve', r.id)).status).toBe(200);
    expect((await ephemeralTexts(h, r.lead.slackUserId))[0]).toMatch(/not an approver/);
    const still = await h.t.http().get(`/v1/requests/${r.id}`).set(auth(r.requester.key)).expect(200);
    expect(still.body).toMatchObject({ status: 'pending', reviews: [] });

    // The job, run early, announces nothing.
    await sweep();
    expect(await escalations(r.id)).toEqual([]);
  });
});

describe('from the moment on', () => {
  it('API: visible, listed as reviewable, and an approval counts — even before the notice went out', async () => {
    const r = await pendingRequest();
    at(r.createdAt, TIER_SECONDS);
    await h.t.http().get(`/v1/requests/${r.id}`).set(auth(r.lead.key)).expect(200);
    expect(await reviewableBy(r.lead.key)).toContain(r.id);
    // The first approvers keep their right.
    expect(await reviewableBy(r.approver.key)).toContain(r.id);
    const approved = await h.t.http().post(`/v1/requests/${r.id}/reviews`).set(auth(r.lead.key)).send({ decision: 'approve' }).expect(200);
    expect(approved.body.status).toBe('active');
    // Decided: the lead who approved still sees it.
    await h.t.http().get(`/v1/requests/${r.id}`).set(auth(r.lead.key)).expect(200);
  });

  it('Slack: a click by the tier member approves', async () => {
    const r = await pendingRequest();
    at(r.createdAt, TIER_SECONDS + 60);
    expect((await click(h, r.lead.slackUserId, 'approve', r.id)).status).toBe(200);
    expect((await ephemeralTexts(h, r.lead.slackUserId))[0]).toMatch(/You approved/);
  });

  it('is announced once: audited by system, a webhook, and a DM to the tier where approvals go by DM', async () => {
    const r = await pendingRequest();
    await runDeliveries(h);
    const dmsBefore = h.slack.callsTo('conversations.open').filter((c) => c.args['users'] === r.lead.slackUserId);
    expect(dmsBefore).toHaveLength(0);

    at(r.createdAt, TIER_SECONDS + 5);
    await sweep();
    await sweep();
    const events = await escalations(r.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: 'system', actorKind: 'system', details: { tier: 1, afterSeconds: TIER_SECONDS, approverGroups: [r.leads] } });
    const hooks = await h.t.deps.db.select().from(deliveries).where(and(eq(deliveries.requestId, r.id), eq(deliveries.event, 'request.escalated')));
    expect(hooks.filter((d) => d.target.startsWith('http'))).toHaveLength(1);

    await runDeliveries(h);
    const dms = h.slack.callsTo('conversations.open').filter((c) => c.args['users'] === r.lead.slackUserId);
    expect(dms.length).toBeGreaterThan(0);
    // The request, buttons and all, reached the tier member.
    expect(postsOf(h, r.id).length).toBeGreaterThanOrEqual(2);
  });

  it('in a channel: a reply in the request\'s thread names the tier', async () => {
    const r = await pendingRequest({ slackChannel: 'C0ESCALATE' });
    await runDeliveries(h);
    at(r.createdAt, TIER_SECONDS + 5);
    await sweep();
    await runDeliveries(h);
    const replies = h.slack.callsTo('chat.postMessage').filter((c) => c.args['channel'] === 'C0ESCALATE' && c.args['thread_ts'] !== undefined && String(c.args['text']).includes(r.leads));
    expect(replies).toHaveLength(1);
    expect(String(replies[0]!.args['text'])).toMatch(/^Escalated/);
  });
});

describe('nothing escalates once decided', () => {
  it('approved before the moment: the tier never joins, nothing is announced', async () => {
    const r = await pendingRequest();
    at(r.createdAt, 300);
    await h.t.http().post(`/v1/requests/${r.id}/reviews`).set(auth(r.approver.key)).send({ decision: 'approve' }).expect(200);
    at(r.createdAt, TIER_SECONDS * 3);
    await sweep();
    expect(await escalations(r.id)).toEqual([]);
    await h.t.http().get(`/v1/requests/${r.id}`).set(auth(r.lead.key)).expect(404);
  });
});
