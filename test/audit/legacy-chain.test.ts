// SPEC §11 migration: events written before sealed blocks keep their milestone-1 chain and still
// verify; the first block starts after them and links to the chain's head, so the chain is
// anchored in the signed blocks from then on.
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GENESIS_HASH, chainHash } from '../../src/audit/proof.js';
import { openPostgres } from '../../src/db/client.js';
import type { TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { asSuperuser, blocksFromDatabase, sealAll, startAuditApp, trailFromDatabase, verify, type AuditEvent } from './helpers.js';

let t: TestApp;
const legacy: AuditEvent[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  const migrating = openPostgres(database.url, { max: 1 });
  await migrating.migrate();
  await migrating.close();
  // Three events as milestone 1 wrote them: chained, and (written before the migration) no xid.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  let prevHash = GENESIS_HASH;
  for (let i = 0; i < 3; i++) {
    const { rows } = await client.query<{ id: string }>(`select nextval('audit_events_id_seq')::text as id`);
    const fields = { id: rows[0]!.id, occurredAt: `2026-01-0${i + 1}T08:00:00.000Z`, actor: { id: 'system', kind: 'system' as const }, action: 'request.expired', requestId: `req_${i}`, profileId: null, sourceIp: null, details: {} };
    const event = { ...fields, prevHash, hash: chainHash(prevHash, fields) };
    await client.query(
      `insert into audit_events (id, occurred_at, actor_id, actor_kind, action, request_id, details, prev_hash, hash, xid) values ($1, $2, 'system', 'system', $3, $4, '{}', $5, $6, null)`,
      [event.id, event.occurredAt, event.action, event.requestId, event.prevHash, event.hash],
    );
    legacy.push(event);
    prevHash = event.hash;
  }
  await client.end();
  t = await startAuditApp({ database, env: { BREVET_AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() } });
  await t.principal({ groups: ['dev'] });
});
afterAll(async () => {
  await t?.close();
});

it('keeps the old chain verifiable, and the first block starts after it, linked to its head', async () => {
  const before = await verify(t, t.adminKey);
  const trail = await trailFromDatabase(t);
  expect(trail.slice(0, 3)).toEqual(legacy);
  expect(before).toMatchObject({ ok: true, checked: trail.length, blocks: 0 });

  const [first] = await sealAll(t);
  expect(first).toMatchObject({ seq: 1, prevBlockHash: legacy[2]!.hash, firstEventId: trail[3]!.id, count: trail.length - 3 });
  expect(await verify(t, t.adminKey)).toMatchObject({ ok: true, checked: trail.length, blocks: 1, unsealed: 0, unsigned: 0 });
});

it('catches an old event changed, and the old chain cut at its head', async () => {
  await asSuperuser(t, async (client) => {
    await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await client.query(`update audit_events set request_id = 'req_other' where id = $1`, [legacy[1]!.id]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenId: legacy[1]!.id });
    await client.query(`update audit_events set request_id = $2 where id = $1`, [legacy[1]!.id, legacy[1]!.requestId]);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: true });

    // The head of the old chain deleted: nothing in the chain shows it, the first block does.
    await client.query('delete from audit_events where id = $1', [legacy[2]!.id]);
    const [block] = await blocksFromDatabase(t);
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 1, firstBrokenId: block!.firstEventId, problem: expect.stringMatching(/prevBlockHash/) });
  });
});
