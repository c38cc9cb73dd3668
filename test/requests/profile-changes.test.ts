// A create plans with the profile version an earlier create read (requests/create-request.ts), so
// it must never be judged by a version that is no longer current: after an edit, a rename or a
// deletion — made here through the API, which does not tell the remembered copy, as another API
// process would not — the very next create follows the current version, for the better and for the worse.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema.js';
import type { TestApp } from '../support/app.js';
import { auth, createProfile, expectProblem, openRequest, postRequest, startListeningApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startListeningApp();
});
afterAll(async () => {
  await t?.close();
});

const edit = (id: string, body: Record<string, unknown>) => t.http().patch(`/v1/profiles/${id}`).set(auth(t.adminKey)).send(body).expect(200);
const refusals = async (actorId: string) =>
  (await t.deps.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'request.refused'), eq(auditEvents.actorId, actorId)))).length;

describe('a create after the profile changed', () => {
  it('is judged by the current version: eligibility lost and regained, limits, approvals', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    const first = await openRequest(t, alice.key, { profile: profile.name });
    expect(first.profileVersion).toBe(1);

    await edit(profile.id, { requesters: { groups: ['ops'] } });
    const refused = await postRequest(t, alice.key, { profile: profile.name });
    expect(refused.status, JSON.stringify(refused.body)).toBeGreaterThanOrEqual(400);
    expect(await refusals(alice.id)).toBe(1);

    await edit(profile.id, { requesters: { groups: ['dev'] }, maxDurationSeconds: 900, defaultDurationSeconds: 900 });
    expectProblem(await postRequest(t, alice.key, { profile: profile.name, durationSeconds: 1800 }), 400, 'validation');
    const third = await openRequest(t, alice.key, { profile: profile.name, durationSeconds: 900 });
    expect(third.profileVersion).toBe(3);

    await edit(profile.id, { approval: { required: 0 } });
    const approved = await openRequest(t, alice.key, { profile: profile.name, durationSeconds: 900 });
    expect(approved.profileVersion).toBe(4);
    expect(approved.status).toBe('active');
    expect(await refusals(alice.id)).toBe(1);
  });

  it('follows a rename and a deletion', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    await openRequest(t, alice.key, { profile: profile.name });
    await openRequest(t, alice.key, { profile: profile.id });

    const renamed = `${profile.name}-x`;
    await edit(profile.id, { name: renamed });
    expectProblem(await postRequest(t, alice.key, { profile: profile.name }), 404, 'not-found');
    expect((await openRequest(t, alice.key, { profile: profile.id })).profileVersion).toBe(2);
    expect((await openRequest(t, alice.key, { profile: renamed })).profileVersion).toBe(2);

    await t.http().delete(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(204);
    expectProblem(await postRequest(t, alice.key, { profile: renamed }), 404, 'not-found');
    expectProblem(await postRequest(t, alice.key, { profile: profile.id }), 404, 'not-found');
  });
});
