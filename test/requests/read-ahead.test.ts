// Approve and credentials read the request while the caller is still being authenticated
// (src/http/read-ahead.ts). These tests hold authentication back (the API-key table locked)
// until that read is done, then end the request before letting authentication go on: the call
// works from a read that is no longer true, and must still refuse, as if it had read after.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/domain/caller.js';
import { deleteProfile } from '../../src/profiles/manage-profiles.js';
import { cancelRequest, revokeRequest } from '../../src/requests/end-request.js';
import { reviewRequest } from '../../src/requests/review-request.js';
import { auditOf, auth, createProfile, issuancesOf, openRequest, requestRow, startHarness, type Harness } from '../credentials/helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ listen: true });
});
afterAll(async () => {
  await h?.close();
});

const callerOf = (principal: { id: string; email: string | null }, groups: string[]): Caller => ({
  id: principal.id,
  kind: 'person',
  email: principal.email,
  displayName: 'someone',
  groups,
  amr: [],
  via: 'api-key',
  isAdmin: false,
  isAuditor: false,
  sourceIp: '127.0.0.1',
});

function post(path: string, key: string, body: unknown) {
  return fetch(`${h.baseUrl}${path}`, { method: 'POST', headers: { ...auth(key), 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
    async (response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> }),
  );
}

/**
 * Fires `call` with authentication blocked on a lock of the API-key table, waits until the call's
 * read-ahead has been answered (the blocked lookup is then the only statement of the app still
 * running), runs `meanwhile`, then lets authentication go on.
 */
async function withAuthenticationHeld<T>(call: () => Promise<T>, meanwhile: () => Promise<unknown>): Promise<T> {
  const holder = new pg.Client({ connectionString: h.t.database.url });
  const watcher = new pg.Client({ connectionString: h.t.database.url });
  await Promise.all([holder.connect(), watcher.connect()]);
  try {
    await holder.query('begin');
    await holder.query('lock table api_keys in access exclusive mode');
    const answer = call();
    for (;;) {
      const { rows } = await watcher.query<{ waiting: number; running: number }>(
        `select count(*) filter (where wait_event_type = 'Lock')::int as waiting, count(*) filter (where state = 'active')::int as running
           from pg_stat_activity where datname = current_database() and pid not in (pg_backend_pid(), $1)`,
        [(holder as unknown as { processID: number }).processID],
      );
      if (rows[0]!.waiting === 1 && rows[0]!.running === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await meanwhile();
    await holder.query('commit');
    return await answer;
  } finally {
    await Promise.all([holder.end(), watcher.end()]);
  }
}

describe('a read taken before the caller was known', () => {
  it('approves nothing when the request was cancelled after the read', async () => {
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await h.t.principal({ groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, profile.name);
    expect(request.status).toBe('pending');

    const approved = await withAuthenticationHeld(
      () => post(`/v1/requests/${request.id}/reviews`, bob.key, { decision: 'approve' }),
      () => cancelRequest(h.t.deps, callerOf(alice, ['dev']), request.id, 'no longer needed'),
    );
    expect(approved.status).toBe(409);
    expect(approved.body).toMatchObject({ type: 'invalid-transition' });
    expect((await requestRow(h.t, request.id)).status).toBe('cancelled');
  });

  it('hands out no credentials, and asks STS for none, when the request was revoked after the read', async () => {
    const profile = await createProfile(h.t);
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, profile.name);
    expect(request.status).toBe('active');

    const issued = await withAuthenticationHeld(
      () => post(`/v1/requests/${request.id}/credentials`, alice.key, { format: 'json' }),
      () => revokeRequest(h.t.deps, callerOf(alice, ['dev']), request.id, 'done early'),
    );
    expect(issued.status).toBe(409);
    expect(JSON.stringify(issued.body)).not.toMatch(/secretAccessKey|sessionToken/);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
    expect(h.aws.assumeRoleCalls.some((call) => call.roleSessionName === `brevet-${request.id}`)).toBe(false);
  });

  it('approves nothing when the profile was deleted after the read', async () => {
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await h.t.principal({ groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, profile.name);

    const approved = await withAuthenticationHeld(
      () => post(`/v1/requests/${request.id}/reviews`, bob.key, { decision: 'approve' }),
      () => deleteProfile(h.t.deps, { ...callerOf({ id: 'prn_admin', email: null }, []), isAdmin: true }, profile.id),
    );
    expect(approved.status).toBe(409);
    expect(approved.body).toMatchObject({ type: 'invalid-transition', detail: 'the profile of this request was deleted' });
    expect((await requestRow(h.t, request.id)).status).toBe('pending');
  });

  it('refuses nothing on a read the request has since outgrown: approved while the requester was being authenticated, credentials are issued', async () => {
    const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
    const alice = await h.t.principal({ groups: ['dev'] });
    const bob = await h.t.principal({ groups: ['sre'] });
    const request = await openRequest(h.t, alice.key, profile.name);
    expect(request.status).toBe('pending');

    const issued = await withAuthenticationHeld(
      () => post(`/v1/requests/${request.id}/credentials`, alice.key, { format: 'json' }),
      () => reviewRequest(h.t.deps, callerOf(bob, ['sre']), request.id, { decision: 'approve', channel: 'api' }),
    );
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body).toMatchObject({ accessKeyId: expect.any(String) });
    expect(await auditOf(h.t, request.id, 'credentials.refused')).toEqual([]);
  });

  it('is not waited on when authentication fails: an unknown key is told 401 whatever the id names', async () => {
    const profile = await createProfile(h.t);
    const alice = await h.t.principal({ groups: ['dev'] });
    const request = await openRequest(h.t, alice.key, profile.name);
    for (const id of [request.id, 'req_doesnotexist00000', 'req_\u0000']) {
      const answer = await post(`/v1/requests/${encodeURIComponent(id)}/credentials`, 'brv_not_a_key', { format: 'json' });
      expect(answer.status, id).toBe(401);
      expect(answer.body).toMatchObject({ type: 'unauthenticated', detail: 'the API key is not valid' });
    }
  });
});
