// SPEC §12 and §3 rule 7: the profile fields of extensions, escalation tiers and on-call
// auto-approval are echoed with their defaults filled, and bad values are refused with a
// problem naming the field — through the admin API, on create and on edit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createProfile, ROLE_ARN, uniqueName } from '../support/api.js';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let noPagerDuty: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { PAGERDUTY_TOKEN: 'test-token', PAGERDUTY_API_URL: 'http://127.0.0.1:9' } });
  noPagerDuty = await startTestApp();
});
afterAll(async () => {
  await t?.close();
  await noPagerDuty?.close();
});

const base = () => ({ name: uniqueName(), roleArn: ROLE_ARN, maxDurationSeconds: 3600, requesters: { groups: ['dev'] } });

describe('defaults', () => {
  it('echoes the SPEC §7.1 profile with extension, escalation and on-call filled in', async () => {
    const profile = await createProfile(t);
    expect(profile.approval).toMatchObject({ extension: { required: 1, maxTotalSeconds: 3600 }, escalation: [], onCall: null });
  });

  it('echoes what was given', async () => {
    const approval = {
      required: 1,
      approverGroups: ['sre'],
      extension: { required: 0, maxTotalSeconds: 14_400 },
      escalation: [{ afterSeconds: 900, approverGroups: ['sre-leads'] }],
      onCall: { provider: 'pagerduty', scheduleIds: ['P123ABC'] },
    };
    const profile = await createProfile(t, { approval });
    expect(profile.approval).toMatchObject(approval);
    const read = await t.http().get(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(200);
    expect(read.body.approval).toMatchObject(approval);
  });

  it('an extension policy at its defaults follows later edits; one set by hand stays', async () => {
    const following = await createProfile(t);
    const edited = await t.http().patch(`/v1/profiles/${following.id}`).set(auth(t.adminKey)).send({ maxDurationSeconds: 7200, approval: { required: 2 } }).expect(200);
    expect(edited.body.approval.extension).toEqual({ required: 2, maxTotalSeconds: 7200 });

    const pinned = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], extension: { required: 0, maxTotalSeconds: 1800 } } });
    const kept = await t.http().patch(`/v1/profiles/${pinned.id}`).set(auth(t.adminKey)).send({ maxDurationSeconds: 7200 }).expect(200);
    expect(kept.body.approval.extension).toEqual({ required: 0, maxTotalSeconds: 1800 });
  });
});

describe('refusals name the field', () => {
  it.each([
    ['an extension maximum of 899 s', { extension: { maxTotalSeconds: 899 } }, '/body/approval/extension/maxTotalSeconds'],
    ['an extension maximum past 12 h', { extension: { maxTotalSeconds: 43_201 } }, '/body/approval/extension/maxTotalSeconds'],
    ['an unknown extension field', { extension: { maxTotal: 1000 } }, '/body/approval/extension/maxTotal'],
    ['tiers out of order', { escalation: [{ afterSeconds: 600, approverGroups: ['a'] }, { afterSeconds: 600, approverGroups: ['b'] }] }, '/body/approval/escalation/1/afterSeconds'],
    ['a tier at 0 s', { escalation: [{ afterSeconds: 0, approverGroups: ['a'] }] }, '/body/approval/escalation/0/afterSeconds'],
    ['a tier without groups', { escalation: [{ afterSeconds: 60, approverGroups: [] }] }, '/body/approval/escalation/0/approverGroups'],
    ['a tier of blank groups', { escalation: [{ afterSeconds: 60, approverGroups: ['  '] }] }, '/body/approval/escalation/0/approverGroups'],
    ['on call without schedules', { onCall: { provider: 'pagerduty', scheduleIds: [] } }, '/body/approval/onCall/scheduleIds'],
    ['on call with another provider', { onCall: { provider: 'opsgenie', scheduleIds: ['P1'] } }, '/body/approval/onCall/provider'],
  ])('%s', async (_name, extra, field) => {
    const response = await t
      .http()
      .post('/v1/profiles')
      .set(auth(t.adminKey))
      .send({ ...base(), approval: { approverGroups: ['sre'], ...extra } });
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.type).toBe('validation');
    expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('an edit that breaks the tiers is refused and makes no version', async () => {
    const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'], escalation: [{ afterSeconds: 600, approverGroups: ['leads'] }] } });
    const response = await t
      .http()
      .patch(`/v1/profiles/${profile.id}`)
      .set(auth(t.adminKey))
      .send({ approval: { escalation: [{ afterSeconds: 600, approverGroups: ['leads'] }, { afterSeconds: 300, approverGroups: ['cto'] }] } });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ field: '/body/approval/escalation/1/afterSeconds', message: expect.any(String) }]);
    const read = await t.http().get(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(200);
    expect(read.body.version).toBe(1);
  });

  it('on-call is saved without PAGERDUTY_TOKEN, and then approves nothing: requests wait for their approvers', async () => {
    const saved = await noPagerDuty
      .http()
      .post('/v1/profiles')
      .set(auth(noPagerDuty.adminKey))
      .send({ ...base(), approval: { approverGroups: ['sre'], onCall: { provider: 'pagerduty', scheduleIds: ['P1'] } } });
    expect(saved.status).toBe(201);
    expect(saved.body.approval.onCall).toEqual({ provider: 'pagerduty', scheduleIds: ['P1'] });
    const requester = await noPagerDuty.principal({ groups: ['dev'] });
    const request = await noPagerDuty
      .http()
      .post('/v1/requests')
      .set(auth(requester.key))
      .send({ profile: saved.body.name, durationSeconds: 900, justification: 'INC-1 on call tonight' });
    expect(request.status).toBe(201);
    expect(request.body.status).toBe('pending');
  });
});
