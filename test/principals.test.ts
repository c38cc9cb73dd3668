import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('principals and API keys', () => {
  it('creates a person with the public shape and an API key shown once', async () => {
    const created = await t
      .http()
      .post('/v1/principals')
      .set(auth(t.adminKey))
      .send({ email: ' Alice@Example.com', displayName: 'Alice', groups: ['dev'] })
      .expect(201);
    expect(created.body).toMatchObject({ kind: 'person', email: 'alice@example.com', displayName: 'Alice', groups: ['dev'], slackUserId: null });
    expect(created.body.id).toMatch(/^prn_/);

    const key = await t.http().post(`/v1/principals/${created.body.id}/api-keys`).set(auth(t.adminKey)).send({ name: 'laptop' }).expect(201);
    expect(key.body).toMatchObject({ name: 'laptop' });
    expect(key.body.key).toMatch(/^brv_/);
    expect(key.headers['cache-control']).toBe('no-store');

    const me = await t.http().get('/v1/me').set(auth(key.body.key)).expect(200);
    expect(me.body).toMatchObject({ id: created.body.id, roles: { admin: false, auditor: false }, mfa: false });

    const listed = await t.http().get(`/v1/principals/${created.body.id}/api-keys`).set(auth(t.adminKey)).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(key.body.key);
  });

  it('refuses a duplicate email in another case as a conflict', async () => {
    await t.http().post('/v1/principals').set(auth(t.adminKey)).send({ email: 'bob@example.com', displayName: 'Bob' }).expect(201);
    const again = await t.http().post('/v1/principals').set(auth(t.adminKey)).send({ email: 'BOB@example.com ', displayName: 'Bob' }).expect(409);
    expect(again.body.type).toBe('conflict');
  });
});

describe('PATCH /v1/me {slackUserId} without SLACK_BOT_TOKEN', () => {
  it('links as told (Brevet cannot ask Slack), audited as unverified', async () => {
    const person = await t.principal({ groups: ['dev'] });
    const slackUserId = `U${Date.now().toString(36).toUpperCase()}`;
    const linked = await t.http().patch('/v1/me').set(auth(person.key)).send({ slackUserId }).expect(200);
    expect(linked.body).toMatchObject({ id: person.id, slackUserId });
    const events = await t.http().get(`/v1/audit?action=principal.updated&actor=${person.id}`).set(auth(t.adminKey)).expect(200);
    expect(events.body.items[0].details).toMatchObject({ principalId: person.id, changes: { slackUserId }, verified: false });
  });
});
