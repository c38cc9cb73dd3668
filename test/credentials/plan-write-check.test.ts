// SPEC §3 rules 3 and 4, §4.4: an issuance is planned on one read without a lock, and its
// pending row is written only if nothing it was judged on changed meanwhile. These tests change
// each of those things between the read and the write, and hold the request's row locked by a
// revocation while the write runs, to show the write never lands on a request that stopped
// being active, nor for a disabled requester or a deleted profile.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertPendingIssuanceIfUnchanged, readIssuanceContext } from '../../src/credentials/repo.js';
import { newId } from '../../src/domain/ids.js';
import { rowsOf } from '../../src/audit/writer.js';
import { auditOf, auth, createProfile, issue, issuancesOf, openRequest, revoke, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function activeRequest() {
  const profile = await createProfile(h.t);
  const requester = await h.t.principal({ groups: ['dev'] });
  const request = await openRequest(h.t, requester.key, profile.name);
  return { profile, requester, request };
}

const pendingRow = (requestId: string) => ({
  id: newId('iss'),
  requestId,
  kind: 'credentials' as const,
  sessionName: `brevet-${requestId}`,
  sourceIdentity: 'someone',
  sourceIp: '127.0.0.1',
  createdAt: h.t.clock.now(),
});

/** Backends of this database waiting for a row lock. */
async function lockWaiters(): Promise<number> {
  const result = await h.t.deps.db.execute(
    sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return rowsOf<{ n: number }>(result)[0]!.n;
}

describe('the pending issuance is written only on the row version it was planned from', () => {
  it('is written when nothing changed, as pending', async () => {
    const { request } = await activeRequest();
    const context = (await readIssuanceContext(h.t.deps.db, request.id))!;
    expect(context.request.status).toBe('active');
    expect(context.request.endsAt).toBeInstanceOf(Date);
    expect(context.request.endsAt!.toISOString()).toBe(request.endsAt);
    expect(await insertPendingIssuanceIfUnchanged(h.t.deps.db, pendingRow(request.id), context.rowVersion)).toBe(true);
    expect((await issuancesOf(h.t, request.id)).map((row) => row.status)).toEqual(['pending']);
  });

  it('is not written once the request was revoked after the read', async () => {
    const { requester, request } = await activeRequest();
    const context = (await readIssuanceContext(h.t.deps.db, request.id))!;
    expect((await revoke(h.t, requester.key, request.id)).status).toBe(200);
    expect(await insertPendingIssuanceIfUnchanged(h.t.deps.db, pendingRow(request.id), context.rowVersion)).toBe(false);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
  });

  it('is not written once the requester was disabled after the read', async () => {
    const { requester, request } = await activeRequest();
    const context = (await readIssuanceContext(h.t.deps.db, request.id))!;
    await h.t.http().patch(`/v1/principals/${requester.id}`).set(auth(h.t.adminKey)).send({ disabled: true }).expect(200);
    expect(await insertPendingIssuanceIfUnchanged(h.t.deps.db, pendingRow(request.id), context.rowVersion)).toBe(false);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
  });

  it('is not written once the profile was deleted after the read', async () => {
    const { profile, request } = await activeRequest();
    const context = (await readIssuanceContext(h.t.deps.db, request.id))!;
    await h.t.http().delete(`/v1/profiles/${profile.id}`).set(auth(h.t.adminKey)).expect(204);
    expect(await insertPendingIssuanceIfUnchanged(h.t.deps.db, pendingRow(request.id), context.rowVersion)).toBe(false);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
  });

  it('waits for a revocation holding the row, and then writes nothing', async () => {
    const { request } = await activeRequest();
    const context = (await readIssuanceContext(h.t.deps.db, request.id))!;
    let written: Promise<boolean> | undefined;
    await h.t.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from requests where id = ${request.id} for update`);
      written = insertPendingIssuanceIfUnchanged(h.t.deps.db, pendingRow(request.id), context.rowVersion);
      while ((await lockWaiters()) === 0) await new Promise((resolve) => setImmediate(resolve));
      await tx.execute(sql`update requests set status = 'revoked' where id = ${request.id}`);
    });
    expect(await written).toBe(false);
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
  });

  it('waits for a transaction that holds the row and changes nothing, and then writes', async () => {
    const { request } = await activeRequest();
    const context = (await readIssuanceContext(h.t.deps.db, request.id))!;
    let written: Promise<boolean> | undefined;
    await h.t.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from requests where id = ${request.id} for update`);
      written = insertPendingIssuanceIfUnchanged(h.t.deps.db, pendingRow(request.id), context.rowVersion);
      while ((await lockWaiters()) === 0) await new Promise((resolve) => setImmediate(resolve));
    });
    expect(await written).toBe(true);
  });
});

describe('a credentials call on a request that changed after it was read', () => {
  it('is judged again on a fresh read: refused as not active once revoked, audited once', async () => {
    const { requester, request } = await activeRequest();
    // The row is held by a revocation while the call runs: the call's write waits for it, finds
    // the row changed, reads again and refuses.
    let answer: Awaited<ReturnType<typeof issue>> | undefined;
    await h.t.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from requests where id = ${request.id} for update`);
      const call = issue(h.t, requester.key, request.id).then((response) => (answer = response));
      while ((await lockWaiters()) === 0) await new Promise((resolve) => setImmediate(resolve));
      await tx.execute(sql`update requests set status = 'revoked' where id = ${request.id}`);
      void call;
    });
    while (answer === undefined) await new Promise((resolve) => setImmediate(resolve));
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ type: 'invalid-transition' });
    expect(await issuancesOf(h.t, request.id)).toEqual([]);
    expect((await auditOf(h.t, request.id, 'credentials.refused')).map((event) => event.details)).toEqual([
      { reason: 'not-active', kind: 'credentials', status: 'revoked' },
    ]);
    expect(h.aws.assumeRoleCalls.filter((call) => call.roleSessionName === `brevet-${request.id}`)).toEqual([]);
  });
});

describe('the AssumeRole request, prepared while the pending issuance is written', () => {
  it('reaches STS only once that write committed, even while the write waits on a lock', async () => {
    const { requester, request } = await activeRequest();
    const sessionName = `brevet-${request.id}`;
    // What another connection sees committed at the moment AWS receives the request.
    const seenAtArrival: string[][] = [];
    h.aws.beforeAssumeRole = async (name) => {
      if (name === sessionName) seenAtArrival.push((await issuancesOf(h.t, request.id)).map((row) => row.status));
    };
    try {
      let answer: Awaited<ReturnType<typeof issue>> | undefined;
      await h.t.deps.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from requests where id = ${request.id} for update`);
        void issue(h.t, requester.key, request.id).then((response) => (answer = response));
        while ((await lockWaiters()) === 0) await new Promise((resolve) => setImmediate(resolve));
        // The write waits on this lock while the SDK prepares the request; none reaches STS.
        for (let i = 0; i < 20; i++) await tx.execute(sql`select 1`);
        expect(h.aws.assumeRoleCalls.filter((call) => call.roleSessionName === sessionName)).toEqual([]);
      });
      while (answer === undefined) await new Promise((resolve) => setImmediate(resolve));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(seenAtArrival).toEqual([['pending']]);
      expect((await issuancesOf(h.t, request.id)).map((row) => row.status)).toEqual(['issued']);
    } finally {
      h.aws.beforeAssumeRole = undefined;
    }
  });

  it('is never sent when the write finds the request revoked, and the call is refused', async () => {
    const { requester, request } = await activeRequest();
    let answer: Awaited<ReturnType<typeof issue>> | undefined;
    await h.t.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from requests where id = ${request.id} for update`);
      void issue(h.t, requester.key, request.id).then((response) => (answer = response));
      while ((await lockWaiters()) === 0) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 20; i++) await tx.execute(sql`select 1`);
      await tx.execute(sql`update requests set status = 'revoked' where id = ${request.id}`);
    });
    while (answer === undefined) await new Promise((resolve) => setImmediate(resolve));
    expect(answer.status).toBe(409);
    // Let anything the dropped plan could still send arrive first.
    expect((await h.t.http().get('/healthz')).status).toBe(200);
    expect(h.aws.assumeRoleCalls.filter((call) => call.roleSessionName === `brevet-${request.id}`)).toEqual([]);
  });
});
