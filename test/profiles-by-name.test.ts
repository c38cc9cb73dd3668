// Issue 10 item 12: a profile is named by its id or its name on every route that takes one, as
// GET does: PATCH and DELETE too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createProfile } from './support/api.js';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('/v1/profiles/{id} takes the name too', () => {
  it('edits a profile by name, making a new version', async () => {
    const profile = await createProfile(t);
    const edited = await t.http().patch(`/v1/profiles/${profile.name}`).set(auth(t.adminKey)).send({ description: 'by name' }).expect(200);
    expect(edited.body).toMatchObject({ id: profile.id, name: profile.name, version: 2, description: 'by name' });
    const read = await t.http().get(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(200);
    expect(read.body.description).toBe('by name');
  });

  it('renames by name, and the old name then names nothing', async () => {
    const profile = await createProfile(t);
    await t.http().patch(`/v1/profiles/${profile.name}`).set(auth(t.adminKey)).send({ name: `${profile.name}-new` }).expect(200);
    await t.http().patch(`/v1/profiles/${profile.name}`).set(auth(t.adminKey)).send({ description: 'x' }).expect(404);
    await t.http().get(`/v1/profiles/${profile.name}-new`).set(auth(t.adminKey)).expect(200);
  });

  it('deletes a profile by name', async () => {
    const profile = await createProfile(t);
    await t.http().delete(`/v1/profiles/${profile.name}`).set(auth(t.adminKey)).expect(204);
    await t.http().get(`/v1/profiles/${profile.id}`).set(auth(t.adminKey)).expect(404);
    await t.http().delete(`/v1/profiles/${profile.name}`).set(auth(t.adminKey)).expect(404);
  });

  it('answers 404 for a name that does not exist', async () => {
    const response = await t.http().patch('/v1/profiles/no-such-profile').set(auth(t.adminKey)).send({ description: 'x' });
    expect(response.status).toBe(404);
    expect(response.body.type).toBe('not-found');
  });
});
