// SPEC §11: GET /v1/audit/verify, where the API keeps BREVET_AUDIT_CHECKPOINT_DIR, also holds the
// database's blocks against those files, which a database superuser cannot write: what the
// database alone cannot show — every signature stripped, the trail's end deleted with its blocks —
// is then reported by the server too, not only by the offline verification.
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointWriter } from '../../src/audit/checkpoints.js';
import type { ProofBlock } from '../../src/audit/proof.js';
import type { TestApp } from '../support/app.js';
import { asSuperuser, blocksFromDatabase, createProfile, openRequest, sealAll, startAuditApp, verify } from './helpers.js';

let t: TestApp;
let dir: string;
let blocks: ProofBlock[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'brevet-checkpoint-check-'));
  const key = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  t = await startAuditApp({ env: { BREVET_AUDIT_SIGNING_KEY: key, BREVET_AUDIT_CHECKPOINT_DIR: dir } });
  const profile = await createProfile(t);
  const alice = await t.principal({ groups: ['dev'] });
  await sealAll(t);
  await openRequest(t, alice.key, profile.id);
  await sealAll(t);
  await openRequest(t, alice.key, profile.id);
  await sealAll(t);
  await createCheckpointWriter(t.deps.db, dir).sync();
  blocks = await blocksFromDatabase(t);
  expect(blocks).toHaveLength(3);
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `work` with the trail's protection off, then puts the blocks back as they were. */
async function tampered(work: (client: pg.Client) => Promise<void>, check: () => Promise<void>) {
  await asSuperuser(t, async (client) => {
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await client.query('ALTER TABLE audit_blocks DISABLE TRIGGER USER');
    const events = (await client.query('select * from audit_events')).rows;
    try {
      await work(client);
      await check();
    } finally {
      await client.query('delete from audit_blocks');
      for (const b of blocks) {
        await client.query(
          'insert into audit_blocks (seq, first_event_id, last_event_id, count, root, prev_block_hash, sealed_at, hash, signature) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
          [b.seq, b.firstEventId, b.lastEventId, b.count, b.root, b.prevBlockHash, b.sealedAt, b.hash, b.signature],
        );
      }
      const ids = new Set((await client.query<{ id: string }>('select id::text as id from audit_events')).rows.map((r) => r.id));
      for (const event of events.filter((e: { id: string }) => !ids.has(String(e.id)))) {
        const columns = Object.keys(event);
        await client.query(`insert into audit_events (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, columns.map((c) => event[c]));
      }
      await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      await client.query('ALTER TABLE audit_blocks ENABLE TRIGGER USER');
    }
  });
}

describe('verify with the checkpoint files at hand', () => {
  it('holds for an intact trail', async () => {
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, blocks: 3, firstBrokenId: null });
  });

  it('names the first block when every signature was stripped (the database alone takes them for blocks sealed before a key was set)', async () => {
    await tampered(
      (client) => client.query('update audit_blocks set signature = null').then(() => undefined),
      async () => {
        expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 1, firstBrokenId: blocks[0]!.firstEventId, problem: 'block 1: its signature was removed (the checkpoint file holds it)' });
      },
    );
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, blocks: 3 });
  });

  it('names the block when the trail’s end was deleted with the block that sealed it', async () => {
    const last = blocks[2]!;
    await tampered(
      async (client) => {
        await client.query('delete from audit_events where id >= $1', [last.firstEventId]);
        await client.query('delete from audit_blocks where seq = 3');
      },
      async () => {
        expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 3, problem: 'block 3: is in the checkpoint files but missing from the database' });
      },
    );
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, blocks: 3 });
  });

  it('is not thrown by a line cut short in the files, nor by blocks the files do not hold yet', async () => {
    appendFileSync(path.join(dir, `audit-checkpoints-${blocks[2]!.sealedAt.slice(0, 10)}.ndjson`), '{"seq":4,"firstEv');
    const alice = await t.principal({ groups: ['dev'] });
    await openRequest(t, alice.key, (await createProfile(t)).id);
    await sealAll(t);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, blocks: 4 });
  });
});
