// SPEC §11: writers take no shared lock; sealers seal every committed event exactly once, in id
// order, into signed blocks — with 20 clients writing through two app instances (separate pools)
// while two sealers race, with a transaction held open while later ones commit, and with a
// sealer killed in the middle of a block. Nothing here waits on time: sealers are stepped, and
// the one wait is for PostgreSQL to report a lock wait.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHolds, type ProofBlock } from '../../src/audit/proof.js';
import { createSealer, SEAL_LOCK_ID, type Sealer } from '../../src/audit/sealer.js';
import { appendAudit, systemActor } from '../../src/audit/writer.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { asSuperuser, auth, blocksFromDatabase, createProfile, openRequest, sealAll, startAuditApp, trailFromDatabase, verify, type AuditEvent } from './helpers.js';

const CLIENTS = 20;
const EVENTS = 500;

const env = { BREVET_AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };

let one: TestApp;
let two: TestApp;
beforeAll(async () => {
  one = await startAuditApp({ env });
  // A second app instance on the same database, with its own pool (as a second API process).
  two = await startTestApp({ env, database: one.database });
  await two.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await two?.app.close();
  await two?.deps.close();
  await one?.close();
});

const sealerOf = (t: TestApp): Sealer => createSealer({ db: t.deps.db, clock: t.deps.clock, signer: t.deps.auditSigner });

/** Each event in exactly one block, blocks in seq order over ascending, disjoint id ranges, each signed. */
function expectSealedOnce(trail: AuditEvent[], blocks: ProofBlock[]): void {
  expect(blocks.map((b) => b.seq)).toEqual(blocks.map((_, i) => i + 1));
  const publicKey = one.deps.auditSigner!.publicKey;
  let next = 0;
  for (const block of blocks) {
    const inBlock = trail.filter((e) => BigInt(e.id) >= BigInt(block.firstEventId) && BigInt(e.id) <= BigInt(block.lastEventId));
    expect(inBlock.length, `block ${block.seq}`).toBe(block.count);
    // The block's events are exactly the next ones of the trail: none skipped, none twice.
    expect(inBlock.map((e) => e.id)).toEqual(trail.slice(next, next + block.count).map((e) => e.id));
    next += block.count;
    expect(block.signature).not.toBeNull();
    expect(signatureHolds(block.hash, block.signature!, publicKey), `signature of block ${block.seq}`).toBe(true);
  }
  expect(next).toBe(trail.length);
}

describe('under load', () => {
  it(`seals ${EVENTS} events written by ${CLIENTS} clients through two app instances exactly once, in order, signed, while two sealers race`, async () => {
    const profile = await createProfile(one);
    const requesters = [];
    for (let i = 0; i < CLIENTS; i++) requesters.push(await one.principal({ groups: ['dev'] }));
    await sealAll(one);
    const before = (await trailFromDatabase(one)).length;

    let writing = true;
    const sealed: ProofBlock[][] = [[], []];
    const racing = [one, two].map(async (t, i) => {
      const sealer = sealerOf(t);
      while (writing) sealed[i]!.push(...(await sealer.tick()));
    });
    try {
      await Promise.all(
        requesters.map(async (requester, client) => {
          const t = client % 2 === 0 ? one : two;
          for (let i = 0; i < EVENTS / CLIENTS; i++) {
            const response = await t.http().post('/v1/requests').set(auth(requester.key)).send({ profile: profile.id, durationSeconds: 1800, justification: `client ${client} #${i}` });
            expect(response.status, JSON.stringify(response.body)).toBe(201);
          }
        }),
      );
    } finally {
      writing = false;
      await Promise.all(racing);
    }
    sealed[0]!.push(...(await sealerOf(one).catchUp()));
    sealed[1]!.push(...(await sealerOf(two).catchUp()));

    const trail = await trailFromDatabase(one);
    expect(trail.length - before).toBe(EVENTS);
    const blocks = await blocksFromDatabase(one);
    expectSealedOnce(trail, blocks);
    // Every block was sealed by exactly one of the two sealers.
    const bySealer = [...sealed[0]!, ...sealed[1]!].map((b) => b.seq);
    expect(new Set(bySealer).size).toBe(bySealer.length);
    expect(sealed[0]!.length + sealed[1]!.length).toBeGreaterThan(0);
    expect(await verify(two, one.adminKey)).toMatchObject({ ok: true, checked: trail.length, unsealed: 0, unsigned: 0, blocks: blocks.length, sealedThrough: trail.at(-1)!.id });
  }, 120_000);
});

describe('a transaction held open', () => {
  it('while later ones commit is sealed after it commits, not skipped', async () => {
    const profile = await createProfile(one);
    const requester = await one.principal({ groups: ['dev'] });
    await sealAll(one);
    const sealer = sealerOf(one);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let heldId!: string;
    let drawn!: () => void;
    const heldDrawn = new Promise<void>((resolve) => (drawn = resolve));
    const held = one.deps.db.transaction(async (tx) => {
      await appendAudit(tx, one.deps.clock, { actor: systemActor, action: 'test.held', details: {} });
      heldId = String((await asSuperuserMaxId()) ?? '');
      drawn();
      await gate;
    });
    await heldDrawn;
    // Later transactions commit with higher ids while the first one is still open.
    await openRequest(one, requester.key, profile.id);
    await openRequest(two, requester.key, profile.id);
    const later = (await trailFromDatabase(one)).slice(-2);
    expect(BigInt(later[0]!.id)).toBeGreaterThan(BigInt(heldId));

    // The sealer steps as often as it likes: nothing at or after the open transaction's id is sealed.
    for (let i = 0; i < 5; i++) expect(await sealer.tick()).toEqual([]);
    const sealedThrough = (await blocksFromDatabase(one)).at(-1)!.lastEventId;
    expect(BigInt(sealedThrough)).toBeLessThan(BigInt(heldId));

    release();
    await held;
    // Sealed at the next step whose boundary every open transaction has passed (other databases
    // of the cluster count too: transaction ids are cluster-wide), so: wait for that step.
    const sealed = [...(await sealer.tick()), ...(await sealer.catchUp())];
    const trail = await trailFromDatabase(one);
    const heldEvent = trail.find((e) => e.action === 'test.held')!;
    expect(sealed.some((b) => BigInt(b.firstEventId) <= BigInt(heldEvent.id) && BigInt(heldEvent.id) <= BigInt(b.lastEventId))).toBe(true);
    expectSealedOnce(trail, await blocksFromDatabase(one));
  });
});

/** The highest event id drawn so far (the held transaction's own, invisible to others). */
async function asSuperuserMaxId(): Promise<string | null> {
  return asSuperuser(one, async (client) => (await client.query<{ id: string | null }>(`select pg_sequence_last_value('audit_events_id_seq')::text as id`)).rows[0]!.id);
}

describe('a sealer killed in the middle of a block', () => {
  it('leaves nothing half-sealed, and the next sealer seals every event once', async () => {
    const profile = await createProfile(one);
    const requester = await one.principal({ groups: ['dev'] });
    await openRequest(one, requester.key, profile.id);
    const blocksBefore = await blocksFromDatabase(one);

    // The block table is locked by someone else, so the sealer stops inside its block transaction
    // (lock taken, events read, block being written); then its connection is killed, as when its
    // process dies.
    await asSuperuser(one, async (blocker) => {
      await blocker.query('begin');
      await blocker.query('lock table audit_blocks in exclusive mode');
      const dying = sealerOf(one).catchUp().then(
        () => 'finished',
        () => 'killed',
      );
      let pid: number | undefined;
      while (pid === undefined) {
        const { rows } = await blocker.query<{ pid: number }>(
          `select a.pid from pg_stat_activity a join pg_locks l on l.pid = a.pid
           where l.locktype = 'advisory' and l.objid = $1 and a.wait_event_type = 'Lock'`,
          [SEAL_LOCK_ID],
        );
        pid = rows[0]?.pid;
      }
      await blocker.query('select pg_terminate_backend($1)', [pid]);
      expect(await dying).toBe('killed');
      await blocker.query('rollback');
    });

    expect(await blocksFromDatabase(one)).toEqual(blocksBefore);
    const sealed = await sealAll(one);
    expect(sealed[0]!.seq).toBe(blocksBefore.length + 1);
    expectSealedOnce(await trailFromDatabase(one), await blocksFromDatabase(one));
    expect(await verify(one, one.adminKey)).toMatchObject({ ok: true, unsealed: 0 });
  });
});
