// SPEC §6, docs/audit.md: the chain is serialised, so 200 state changes from 20 clients at once
// leave one unbroken chain — ids strictly increasing, each prevHash the hash before it — that
// verify accepts in full. Checked through the API and again from SQL.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import {
  auth,
  createProfile,
  expectIntactChain,
  reviewRequest,
  startAuditApp,
  trailFromDatabase,
  verify,
  type Principal,
} from './helpers.js';

const CLIENTS = 20;
const CHANGES_PER_CLIENT = 10;

let t: TestApp;

beforeAll(async () => {
  t = await startAuditApp();
});
afterAll(async () => {
  await t?.close();
});

it('200 state changes from 20 parallel clients leave a chain that verifies in full', async () => {
  const profile = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'] } });
  const requesters: Principal[] = [];
  for (let i = 0; i < CLIENTS / 2; i++) requesters.push(await t.principal({ groups: ['dev'] }));
  const approvers: Principal[] = [];
  for (let i = 0; i < CLIENTS / 2; i++) approvers.push(await t.principal({ groups: ['sre'] }));
  // Pending requests for the approvers to decide while the requesters open more.
  const pending: string[][] = [];
  for (const requester of requesters) {
    const ids: string[] = [];
    for (let i = 0; i < CHANGES_PER_CLIENT; i++) {
      const response = await t.http().post('/v1/requests').set(auth(requester.key)).send({ profile: profile.id, durationSeconds: 1800, justification: `seed ${i}` });
      expect(response.status).toBe(201);
      ids.push(response.body.id);
    }
    pending.push(ids);
  }
  const before = (await trailFromDatabase(t)).length;

  // Ten clients each open ten requests while ten others each approve ten: 200 commands at once.
  const opening = requesters.map(async (requester, client) => {
    for (let i = 0; i < CHANGES_PER_CLIENT; i++) {
      const response = await t
        .http()
        .post('/v1/requests')
        .set(auth(requester.key))
        .send({ profile: profile.id, durationSeconds: 1800, justification: `client ${client} change ${i}` });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
    }
  });
  const approving = approvers.map(async (approver, client) => {
    for (const requestId of pending[client]!) await reviewRequest(t, approver.key, requestId, 'approve');
  });
  await Promise.all([...opening, ...approving]);

  const trail = await trailFromDatabase(t);
  // Each opening writes request.created; each approval review.approved, request.approved and request.activated.
  const opened = CLIENTS / 2 * CHANGES_PER_CLIENT;
  const approved = CLIENTS / 2 * CHANGES_PER_CLIENT;
  expect(trail.length - before).toBe(opened + approved * 3);
  expect(trail.filter((e) => e.action === 'review.approved')).toHaveLength(approved);

  expect(await verify(t, t.adminKey)).toEqual({ ok: true, checked: trail.length, firstBrokenId: null });
  expect(await expectIntactChain(t)).toBe(trail.length);
  // No fork: every hash is someone's prevHash at most once.
  const prevHashes = trail.map((e) => e.prevHash);
  expect(new Set(prevHashes).size).toBe(prevHashes.length);
});
