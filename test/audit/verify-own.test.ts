// SPEC §7: GET /v1/audit/verify is for auditors and admins "(+ own requests)": anyone else gets
// the verification of the events of their own requests (each hash, and the blocks that seal
// them: root, link to the block before, hash, signature), never a count of anyone else's events.
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { eventHash } from '../../src/audit/proof.js';
import { asSuperuser, blocksFromDatabase, createProfile, insertRow, openRequest, reviewRequest, sealAll, startAuditApp, trailFromDatabase, verify, type Principal } from './helpers.js';

let t: TestApp;
let alice: Principal;
let bob: Principal;
let carol: Principal;
let sre: Principal;
const alices: string[] = [];
let bobs: string;
/** An event id no event took: between the first block and the second. */
let gap: string;

/** Alice's events: those of her requests, as the trail holds them. */
async function alicesEvents() {
  return (await trailFromDatabase(t)).filter((event) => event.requestId !== null && alices.includes(event.requestId));
}

beforeAll(async () => {
  t = await startAuditApp({ env: { BREVET_AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() } });
  const profile = await createProfile(t);
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['dev'] });
  carol = await t.principal({ groups: ['dev'] });
  sre = await t.principal({ groups: ['sre'] });
  alices.push((await openRequest(t, alice.key, profile.id)).id);
  bobs = (await openRequest(t, bob.key, profile.id)).id;
  await reviewRequest(t, sre.key, bobs, 'deny');
  await sealAll(t);
  gap = await asSuperuser(t, async (client) => (await client.query<{ id: string }>(`select nextval('audit_events_id_seq')::text as id`)).rows[0]!.id);
  await reviewRequest(t, sre.key, alices[0]!, 'approve');
  alices.push((await openRequest(t, alice.key, profile.id)).id);
  await sealAll(t);
  // One more of Alice's, not sealed yet.
  alices.push((await openRequest(t, alice.key, profile.id)).id);
});
afterAll(async () => {
  await t?.close();
});

describe('GET /v1/audit/verify for someone neither auditor nor admin', () => {
  it("checks the requester's own events and the blocks that seal them, and counts the unsealed ones", async () => {
    const own = await alicesEvents();
    const unsealed = own.filter((event) => event.requestId === alices[2]);
    expect(unsealed.length).toBeGreaterThan(0);
    const blocks = await blocksFromDatabase(t);
    expect(await verify(t, alice.key)).toEqual({
      ok: true,
      checked: own.length - unsealed.length,
      firstBrokenId: null,
      sealedThrough: blocks.at(-1)!.lastEventId,
      blocks: 2,
      unsealed: unsealed.length,
      unsigned: 0,
    });
  });

  it('gives someone without requests nothing to check, an approver included', async () => {
    for (const who of [carol, sre]) {
      expect(await verify(t, who.key)).toMatchObject({ ok: true, checked: 0, blocks: 0, unsealed: 0 });
    }
  });

  it('names an event of theirs slipped in between two blocks, its hash made to fit, where none of theirs is', async () => {
    const [first, second] = await blocksFromDatabase(t);
    expect(BigInt(gap)).toBeGreaterThan(BigInt(first!.lastEventId));
    expect(BigInt(gap)).toBeLessThan(BigInt(second!.firstEventId));
    const fields = {
      id: gap,
      occurredAt: new Date().toISOString(),
      actor: { id: sre.id, kind: 'person' as const },
      action: 'review.approved',
      requestId: bobs,
      profileId: null,
      sourceIp: null,
      details: {},
    };
    await asSuperuser(t, (client) => insertRow(client, { ...fields, prevHash: null, hash: eventHash(fields) }));
    try {
      // Bob's own events are all in the first block: the forgery is checked with the second.
      expect((await trailFromDatabase(t)).filter((event) => event.requestId === bobs && BigInt(event.id) > BigInt(first!.lastEventId))).toHaveLength(1);
      expect(await verify(t, bob.key)).toMatchObject({ ok: false, firstBrokenId: gap, problem: expect.stringMatching(/in no block/) });
    } finally {
      await asSuperuser(t, async (client) => {
        await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
        await client.query('delete from audit_events where id = $1', [gap]);
      });
    }
    expect(await verify(t, bob.key)).toMatchObject({ ok: true });
  });

  it("names the requester's own event that was changed, as a database superuser would change it", async () => {
    const target = (await alicesEvents()).find((event) => event.action === 'review.approved')!;
    const client = new pg.Client({ connectionString: t.database.url });
    await client.connect();
    try {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query(`update audit_events set details = details || '{"forged":true}' where id = $1`, [target.id]);
    } finally {
      await client.end();
    }
    expect(await verify(t, alice.key)).toMatchObject({ ok: false, firstBrokenId: target.id, firstBrokenBlock: null, problem: expect.stringMatching(/hash does not match/) });
    // Bob's own events are in other blocks or the same ones: the block that holds the change is
    // broken for everyone it seals, and an auditor is told the same first broken event.
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: target.id });
  });
});
