// Issue 10 item 12: a disabled requester gets no new access. Their pending request can be denied
// or left to expire, never approved — through the API or a Slack button — and it never yields
// credentials, even for a caller who authenticated just before the disable committed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planIssuance } from '../../src/credentials/plan-issuance.js';
import type { Caller } from '../../src/domain/caller.js';
import { runTimedTransition } from '../../src/requests/run-timed-transition.js';
import { click, ephemeralTexts, randomSlackId, runDeliveries, slackPerson, startSlackApp, type SlackHarness } from '../slack/helpers.js';
import { auditOf, auth, createProfile, expectProblem, openRequest, review, reviewRows, statusOf } from './helpers.js';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackApp();
});
afterAll(async () => {
  await h?.close();
});

const setDisabled = (id: string, disabled: boolean) =>
  h.t.http().patch(`/v1/principals/${id}`).set(auth(h.t.adminKey)).send({ disabled }).expect(200);

async function pendingOfDisabledRequester(approval: Record<string, unknown> = { required: 1, approverGroups: ['sre'] }) {
  const channel = randomSlackId('C');
  const profile = await createProfile(h.t, { approval, notify: { slackChannel: channel } });
  const alice = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, alice.key, { profile: profile.name });
  await runDeliveries(h);
  await setDisabled(alice.id, true);
  return { alice, request, channel };
}

async function refusalReasons(requestId: string): Promise<string[]> {
  return (await auditOf(h.t, requestId)).filter((e) => e.action === 'review.refused').map((e) => (e.details as { reason: string }).reason);
}

describe('a disabled requester', () => {
  it('cannot have their pending request approved through the API: 409 conflict naming why, audited, nothing changed', async () => {
    const { request } = await pendingOfDisabledRequester();
    const bob = await h.t.principal({ groups: ['sre'] });
    const answer = await review(h.t, bob.key, request.id, 'approve', 'fine');
    expectProblem(answer, 409, 'conflict');
    expect(answer.body.detail).toMatch(/requester is disabled/);
    expect(await statusOf(h.t, request.id)).toBe('pending');
    expect(await reviewRows(h.t, request.id)).toHaveLength(0);
    expect(await refusalReasons(request.id)).toEqual(['requester-disabled']);
  });

  it('cannot have it approved with a Slack button either; the clicker is told why', async () => {
    const { request, channel } = await pendingOfDisabledRequester();
    const bob = await slackPerson(h, { groups: ['sre'] });
    await click(h, bob.slackUserId, 'approve', request.id, channel).expect(200);
    const [text] = await ephemeralTexts(h, bob.slackUserId);
    expect(text).toMatch(/^Nothing was changed: the requester is disabled/);
    expect(await statusOf(h.t, request.id)).toBe('pending');
    expect(await reviewRows(h.t, request.id)).toHaveLength(0);
  });

  it('refuses the approval that would complete a request approved in part before the disable', async () => {
    const profile = await createProfile(h.t, { approval: { required: 2, approverGroups: ['sre'] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    const [bob, carol] = [await h.t.principal({ groups: ['sre'] }), await h.t.principal({ groups: ['sre'] })];
    await review(h.t, bob.key, request.id, 'approve').expect(200);
    await setDisabled(alice.id, true);
    expectProblem(await review(h.t, carol.key, request.id, 'approve'), 409, 'conflict');
    expect(await statusOf(h.t, request.id)).toBe('pending');
    expect(await reviewRows(h.t, request.id)).toHaveLength(1);
  });

  it('can still have it denied, and it expires as any pending request', async () => {
    const first = await pendingOfDisabledRequester();
    const bob = await h.t.principal({ groups: ['sre'] });
    const denied = await review(h.t, bob.key, first.request.id, 'deny', 'left the company').expect(200);
    expect(denied.body.status).toBe('denied');

    const second = await pendingOfDisabledRequester({ required: 1, approverGroups: ['sre'], pendingTtlSeconds: 60 });
    h.t.clock.advance(61_000);
    expect(await runTimedTransition(h.t.deps, second.request.id, 'expire')).toBe(true);
    expect(await statusOf(h.t, second.request.id)).toBe('expired');
  });

  it('once enabled again, may be approved as before', async () => {
    const { alice, request } = await pendingOfDisabledRequester();
    await setDisabled(alice.id, false);
    const bob = await h.t.principal({ groups: ['sre'] });
    const approved = await review(h.t, bob.key, request.id, 'approve').expect(200);
    expect(approved.body.status).toBe('active');
  });

  it('never receives credentials, even when the disable lands after authentication', async () => {
    const profile = await createProfile(h.t, { approval: { required: 0 } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, { profile: profile.name });
    expect(request.status).toBe('active');
    await setDisabled(alice.id, true);

    // Through the API the key no longer authenticates.
    const viaApi = await h.t.http().post(`/v1/requests/${request.id}/credentials`).set(auth(alice.key)).send({ format: 'json' });
    expectProblem(viaApi, 401, 'unauthenticated');

    // A caller authenticated just before the disable committed reaches the command: refused there.
    const caller: Caller = {
      id: alice.id,
      kind: 'person',
      email: alice.email,
      displayName: 'Alice',
      groups: ['dev'],
      amr: [],
      via: 'api-key',
      isAdmin: false,
      isAuditor: false,
      sourceIp: '127.0.0.1',
    };
    await expect(planIssuance(h.t.deps, caller, request.id, 'credentials', 'json')).rejects.toMatchObject({ type: 'conflict', status: 409 });
    const refused = (await auditOf(h.t, request.id)).filter((e) => e.action === 'credentials.refused');
    expect(refused.map((e) => (e.details as { reason: string }).reason)).toEqual(['requester-disabled']);
  });
});
