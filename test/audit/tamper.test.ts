// SPEC §3 rule 6, §6, §11: the database refuses UPDATE, DELETE and TRUNCATE of the trail and of
// its sealed blocks, even to a superuser; and when a superuser disables that protection and
// edits, deletes or forges an event, GET /v1/audit/verify names the first event or block that
// no longer holds. Each scenario has a database of its own; the trail is sealed in three blocks,
// with a tail of events not yet sealed.
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHash, type ProofBlock } from '../../src/audit/proof.js';
import { createSealer } from '../../src/audit/sealer.js';
import { blockSigner } from '../../src/audit/signing-key.js';
import type { TestApp } from '../support/app.js';
import {
  asSuperuser,
  blocksFromDatabase,
  createProfile,
  insertRow,
  openRequest,
  reviewRequest,
  sealAll,
  startAuditApp,
  trailFromDatabase,
  verify,
  type AuditEvent,
} from './helpers.js';

const base = new Date('2032-02-01T12:00:00.000Z');
const stage = (n: number) => new Date(base.getTime() + n * 3_600_000);

interface Built {
  t: TestApp;
  requests: { approved: string; denied: string };
  trail: AuditEvent[];
  blocks: ProofBlock[];
  /** Events past the last block. */
  tail: AuditEvent[];
  /** Ids drawn and never used (as a rolled-back transaction leaves them): one inside block 3, one between blocks 2 and 3. */
  gaps: { inBlock: string; betweenBlocks: string };
}

const burnId = (t: TestApp) =>
  asSuperuser(t, async (client) => (await client.query<{ id: string }>(`select nextval('audit_events_id_seq')::text as id`)).rows[0]!.id);

/** The signing key of the app under test, as an operator sets it. */
const signingKeyEnv = () => ({
  BREVET_AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
});

/** A trail in stages, sealed after each of the first three (three blocks), then one more request not yet sealed. */
async function buildTrail(): Promise<Built> {
  const t = await startAuditApp({ env: signingKeyEnv() });
  t.clock.set(stage(1));
  const profile = await createProfile(t);
  const alice = await t.principal({ groups: ['dev'] });
  const sre = await t.principal({ groups: ['sre'] });
  await sealAll(t);
  t.clock.set(stage(2));
  const approved = (await openRequest(t, alice.key, profile.id)).id;
  const denied = (await openRequest(t, alice.key, profile.id)).id;
  await sealAll(t);
  const betweenBlocks = await burnId(t);
  t.clock.set(stage(3));
  await reviewRequest(t, sre.key, approved, 'approve');
  const inBlock = await burnId(t);
  await reviewRequest(t, sre.key, denied, 'deny');
  await sealAll(t);
  t.clock.set(stage(4));
  await openRequest(t, alice.key, profile.id);
  const trail = await trailFromDatabase(t);
  const blocks = await blocksFromDatabase(t);
  expect(blocks.map((b) => b.seq)).toEqual([1, 2, 3]);
  const tail = trail.filter((e) => BigInt(e.id) > BigInt(blocks.at(-1)!.lastEventId));
  expect(tail.length).toBeGreaterThan(0);
  expect(await verify(t, t.adminKey)).toEqual(intact({ trail, blocks, tail }));
  return { t, requests: { approved, denied }, trail, blocks, tail, gaps: { inBlock, betweenBlocks } };
}

/** What verify answers for an untouched trail. */
function intact(b: Pick<Built, 'trail' | 'blocks' | 'tail'>) {
  return {
    ok: true,
    checked: b.trail.length,
    firstBrokenId: null,
    sealedThrough: b.blocks.at(-1)!.lastEventId,
    blocks: b.blocks.length,
    unsealed: b.tail.length,
    unsigned: 0,
  };
}

const disableProtection = async (client: pg.Client) => {
  await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
  await client.query('ALTER TABLE audit_blocks DISABLE TRIGGER USER');
};

function eventOf(trail: AuditEvent[], action: string, requestId?: string): AuditEvent {
  const event = trail.find((e) => e.action === action && (requestId === undefined || e.requestId === requestId));
  expect(event, action).toBeDefined();
  return event!;
}

const blockOf = (blocks: ProofBlock[], event: AuditEvent) =>
  blocks.find((b) => BigInt(b.firstEventId) <= BigInt(event.id) && BigInt(event.id) <= BigInt(b.lastEventId))!;

/** Puts an event back exactly as it was (the protection is off). */
async function restore(client: pg.Client, event: AuditEvent): Promise<void> {
  await client.query('delete from audit_events where id = $1', [event.id]);
  await insertRow(client, event);
}

async function connect(built: Built): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: built.t.database.url });
  await client.connect();
  await disableProtection(client);
  return client;
}

describe('with the protection on', () => {
  let built: Built;
  beforeAll(async () => {
    built = await buildTrail();
  });
  afterAll(async () => {
    await built?.t.close();
  });

  it.each([
    ['UPDATE', `update audit_events set details = '{"forged":true}' where id = (select max(id) from audit_events)`],
    ['UPDATE of every row', `update audit_events set actor_id = 'nobody'`],
    ['DELETE', 'delete from audit_events where id = (select min(id) from audit_events)'],
    ['DELETE of every row', 'delete from audit_events'],
    ['TRUNCATE', 'truncate audit_events'],
    ['TRUNCATE … CASCADE', 'truncate audit_events restart identity cascade'],
    ['UPDATE of a block', `update audit_blocks set root = repeat('0', 64)`],
    ['DELETE of a block', 'delete from audit_blocks where seq = 3'],
    ['TRUNCATE of the blocks', 'truncate audit_blocks'],
  ])('refuses %s, even to a superuser', async (_name, statement) => {
    const error = await asSuperuser(built.t, (client) => client.query(statement).then(() => undefined, (e: unknown) => e));
    expect(error).toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    expect(await trailFromDatabase(built.t)).toStrictEqual(built.trail);
    expect(await blocksFromDatabase(built.t)).toStrictEqual(built.blocks);
    expect(await verify(built.t, built.t.adminKey)).toEqual(intact(built));
  });

  it('is a superuser connection (the refusals above are the database’s, not a missing privilege)', async () => {
    const { rows } = await asSuperuser(built.t, (client) => client.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user'));
    expect(rows[0]!.rolsuper).toBe(true);
  });
});

describe('(a) an event changed in place', () => {
  let built: Built;
  let client: pg.Client;
  beforeAll(async () => {
    built = await buildTrail();
    client = await connect(built);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  const edits: [string, string, (built: Built) => AuditEvent][] = [
    ['a detail of a sealed event', `update audit_events set details = jsonb_set(details, '{justification}', '"nothing to see here"') where id = $1`, (b) => eventOf(b.trail, 'request.created', b.requests.approved)],
    ['the actor', `update audit_events set actor_id = 'someone-else' where id = $1`, (b) => eventOf(b.trail, 'review.approved')],
    ['the action', `update audit_events set action = 'review.approved' where id = $1`, (b) => eventOf(b.trail, 'review.denied')],
    ['the time, by one millisecond', `update audit_events set occurred_at = occurred_at + interval '1 millisecond' where id = $1`, (b) => eventOf(b.trail, 'review.denied')],
    ['the request', `update audit_events set request_id = null where id = $1`, (b) => eventOf(b.trail, 'request.approved')],
    ['the profile', `update audit_events set profile_id = 'prf_other' where id = $1`, (b) => eventOf(b.trail, 'request.activated')],
    ['the source address', `update audit_events set source_ip = '10.9.9.9' where id = $1`, (b) => eventOf(b.trail, 'request.created', b.requests.denied)],
    ['a detail added', `update audit_events set details = details || '{"extra":1}' where id = $1`, (b) => eventOf(b.trail, 'profile.created')],
    ['its hash', `update audit_events set hash = repeat('a', 64) where id = $1`, (b) => eventOf(b.trail, 'review.approved')],
    ['a prevHash given to it', `update audit_events set prev_hash = repeat('b', 64) where id = $1`, (b) => eventOf(b.trail, 'review.approved')],
    ['an event not sealed yet', `update audit_events set actor_id = 'someone-else' where id = $1`, (b) => b.tail[0]!],
  ];

  it.each(edits)('is caught when %s is changed', async (_name, statement, pick) => {
    const target = pick(built);
    await client.query(statement, [target.id]);
    expect(await verify(built.t, built.t.adminKey)).toMatchObject({ ok: false, firstBrokenId: target.id, firstBrokenBlock: null });
    await restore(client, target);
    expect(await verify(built.t, built.t.adminKey)).toEqual(intact(built));
  });

  it('is caught by its block when its hash is recomputed to fit the change', async () => {
    const { t, trail, blocks } = built;
    const target = eventOf(trail, 'review.denied');
    const changed = { ...target, action: 'review.approved' };
    await client.query('update audit_events set action = $2, hash = $3 where id = $1', [target.id, changed.action, eventHash(changed)]);
    const block = blockOf(blocks, target);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: block.seq, firstBrokenId: block.firstEventId, problem: expect.stringMatching(/Merkle root/) });
    await restore(client, target);
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });
});

describe('(b) an event deleted', () => {
  let built: Built;
  let client: pg.Client;
  beforeAll(async () => {
    built = await buildTrail();
    client = await connect(built);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  const picks: [string, (b: Built) => AuditEvent][] = [
    ['in the middle of a block', (b) => eventOf(b.trail, 'review.approved', b.requests.approved)],
    ['the first of a block', (b) => b.trail.find((e) => e.id === b.blocks[1]!.firstEventId)!],
    ['the last sealed one', (b) => b.trail.find((e) => e.id === b.blocks[2]!.lastEventId)!],
    ['the very first event', (b) => b.trail[0]!],
  ];

  it.each(picks)('%s: verify names its block', async (_name, pick) => {
    const { t, blocks } = built;
    const deleted = pick(built);
    const block = blockOf(blocks, deleted);
    await client.query('delete from audit_events where id = $1', [deleted.id]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: block.seq, firstBrokenId: block.firstEventId });
    await insertRow(client, deleted);
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });

  it('a whole block of events: verify names that block', async () => {
    const { t, trail, blocks } = built;
    const removed = trail.filter((e) => blockOf(blocks, e)?.seq === 2);
    await client.query('delete from audit_events where id = any($1::bigint[])', [removed.map((e) => e.id)]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 2 });
    for (const event of removed) await insertRow(client, event);
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });

  it('a block itself: verify names the block after the gap', async () => {
    const { t, blocks } = built;
    await client.query('delete from audit_blocks where seq = 2');
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 3, problem: expect.stringMatching(/block 2 is missing/) });
    const b = blocks[1]!;
    await client.query(
      'insert into audit_blocks (seq, first_event_id, last_event_id, count, root, prev_block_hash, sealed_at, hash, signature) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [b.seq, b.firstEventId, b.lastEventId, b.count, b.root, b.prevBlockHash, b.sealedAt, b.hash, b.signature],
    );
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });
});

describe('(c) an event forged', () => {
  let built: Built;
  let client: pg.Client;
  beforeAll(async () => {
    built = await buildTrail();
    client = await connect(built);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  const forgery = (id: string, hash?: string): AuditEvent => {
    const fields = {
      id,
      occurredAt: stage(3).toISOString(),
      actor: { id: 'system', kind: 'system' as const },
      action: 'request.approved',
      requestId: built.requests.denied,
      profileId: null,
      sourceIp: null,
      details: { forged: 'yes' },
    };
    return { ...fields, prevHash: null, hash: hash ?? eventHash(fields) };
  };

  it('inside a block, with its hash correctly computed: verify names the block', async () => {
    const { t, gaps } = built;
    await insertRow(client, forgery(gaps.inBlock));
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 3, firstBrokenId: built.blocks[2]!.firstEventId });
    await client.query('delete from audit_events where id = $1', [gaps.inBlock]);
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });

  it('inside a block, with a made-up hash: verify names the event', async () => {
    const { t, gaps } = built;
    await insertRow(client, forgery(gaps.inBlock, 'f'.repeat(64)));
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: gaps.inBlock });
    await client.query('delete from audit_events where id = $1', [gaps.inBlock]);
  });

  it.each([
    ['between two blocks', (b: Built) => b.gaps.betweenBlocks],
    ['before the first block, unchained', () => '0'],
  ])('%s: verify names it as in no block', async (_name, idOf) => {
    const { t } = built;
    const id = idOf(built);
    await insertRow(client, forgery(id));
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: id, firstBrokenBlock: null, problem: expect.stringMatching(/in no block/) });
    await client.query('delete from audit_events where id = $1', [id]);
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });

  it('sealed into a block signed with another key: verify names the block', async () => {
    const { t } = built;
    // The forger seals the tail (and a forged event) with a key of their own: the server checks
    // every signature with its own public key.
    await insertRow(client, forgery(String(BigInt(built.tail.at(-1)!.id) + 1000n)));
    await createSealer({ db: t.deps.db, clock: t.deps.clock, signer: blockSigner(generateKeyPairSync('ed25519').privateKey) }).catchUp();
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 4, problem: expect.stringMatching(/signature/) });
  });
});

describe('signatures taken away', () => {
  let built: Built;
  let client: pg.Client;
  beforeAll(async () => {
    built = await buildTrail();
    client = await connect(built);
  });
  afterAll(async () => {
    await client?.end();
    await built?.t.close();
  });

  it('a signature removed (the block hash does not cover it): verify names the block', async () => {
    const { t } = built;
    const block3 = built.blocks[2]!;
    await client.query('update audit_blocks set signature = null where seq = 3');
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 3, firstBrokenId: block3.firstEventId, problem: expect.stringMatching(/block 3: unsigned after a signed block/) });
    await client.query('update audit_blocks set signature = $1 where seq = 3', [block3.signature]);
    expect(await verify(t, t.adminKey)).toEqual(intact(built));
  });

  it('events sealed by a forger who has no key, unsigned: verify names their block', async () => {
    const { t } = built;
    await createSealer({ db: t.deps.db, clock: t.deps.clock, signer: undefined }).catchUp();
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 4, problem: expect.stringMatching(/unsigned after a signed block/) });
  });

  it('blocks sealed before a signing key was set stay unsigned and hold', async () => {
    const t = await startAuditApp({ env: signingKeyEnv() });
    try {
      const profile = await createProfile(t);
      const alice = await t.principal({ groups: ['dev'] });
      await createSealer({ db: t.deps.db, clock: t.deps.clock, signer: undefined }).catchUp();
      await openRequest(t, alice.key, profile.id);
      await sealAll(t);
      expect(await blocksFromDatabase(t)).toMatchObject([{ seq: 1, signature: null }, { seq: 2, signature: expect.any(String) }]);
      expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, blocks: 2, unsigned: 1, unsealed: 0 });
    } finally {
      await t.close();
    }
  });
});
