// GET /v1/audit/verify reads the events from PostgreSQL by COPY and builds their canonical JSON
// from its text (src/audit/event-copy.ts). On a real database, with events whose fields hold what
// is easy to get wrong, it reports exactly what the general reader (the one PGlite uses) reports,
// trail intact or tampered; and its timestamps are what to_char gave.
import { generateKeyPairSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoTime } from '../../src/audit/event-copy.js';
import { createSealer } from '../../src/audit/sealer.js';
import { blockSigner } from '../../src/audit/signing-key.js';
import { verifyAudit, type VerifyDeps } from '../../src/audit/verify-trail.js';
import { appendAudit, type AuditEntry } from '../../src/audit/writer.js';
import { openPostgres, type Database } from '../../src/db/client.js';
import type { Caller } from '../../src/domain/caller.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const auditor: Caller = { id: 'prn_auditor', kind: 'person', email: null, displayName: 'auditor', groups: [], amr: [], via: 'api-key', isAdmin: false, isAuditor: true, sourceIp: null };
const signer = blockSigner(generateKeyPairSync('ed25519').privateKey);

/** Strings that a reader of COPY's text or a JSON writer could get wrong. */
const ODD = ['"quoted"', 'back\\slash', 'tab\there', 'new\nline', 'cr\rlf', '\b\f\v', '\u0001\u001f\u007f', '\\N', 'N', '', ' ', 'café ☕', '😀 emoji', '\u202eevil\u202c', '\u2066iso\u2069', '\u2028\u2029', '{"json":1}', 'a\tb\\tc'];

let database: TestDatabase;
let db: Database;
let client: pg.Client;
const copyDeps = (): VerifyDeps => ({ db: db.db, database: db, auditSigner: signer });
const batchDeps = (): VerifyDeps => ({ db: db.db, auditSigner: signer });

beforeAll(async () => {
  database = await createTestDatabase();
  db = openPostgres(database.url, { max: 4 });
  await db.migrate();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const clock = { now: () => new Date('2031-02-03T04:05:06.789Z') };
  const entries: AuditEntry[] = ODD.map((s, i) => ({
    actor: { id: s, kind: i % 2 === 0 ? 'person' : 'service' },
    action: `odd.${s}`,
    requestId: i % 3 === 0 ? null : s,
    profileId: i % 4 === 0 ? null : `prf_${s}`,
    sourceIp: i % 5 === 0 ? null : s,
    details: { [s]: s, nested: { b: [s, 1.5, -0, 1e21, 12345678901234567890, 0.1, null, true], a: { [`${s}2`]: { z: 1, y: [] } } }, spaced: 'a, b: c', number: 100.0 },
  }));
  entries.push({ actor: { id: 'system', kind: 'system' }, action: 'plain', details: {} });
  for (const entry of entries) await db.db.transaction((tx) => appendAudit(tx, clock, entry));
  await createSealer({ db: db.db, clock, signer }, { maxBlockEvents: 7 }).catchUp();
  // A few more events past the last block: unsealed.
  for (const entry of entries.slice(0, 3)) await db.db.transaction((tx) => appendAudit(tx, clock, entry));
});
afterAll(async () => {
  await client?.end();
  await db?.close();
  await database?.drop();
});

describe('the verification by COPY', () => {
  it('verifies odd content, reporting what the general reader reports', async () => {
    const report = await verifyAudit(copyDeps(), auditor, { parts: 1 });
    expect(report).toEqual({ ok: true, checked: ODD.length + 4, firstBrokenId: null, firstBrokenBlock: null, problem: null, sealedThrough: expect.any(String), blocks: 3, unsealed: 3, unsigned: 0 });
    expect(report).toEqual(await verifyAudit(batchDeps(), auditor));
    // In parts side by side (worker threads, one snapshot): the same report.
    expect(await verifyAudit(copyDeps(), auditor, { parts: 3, minPartEvents: 1 })).toEqual(report);
    expect(await verifyAudit(copyDeps(), auditor, { parts: 2, minPartEvents: 1 })).toEqual(report);
  }, 60_000);

  it('reports a tampered event, block or chain as the general reader does', async () => {
    const { rows } = await client.query<{ id: string }>('select id::text as id from audit_events order by audit_events.id');
    const tampers = [
      `update audit_events set details = jsonb_set(details, '{nested,b,0}', '"other"') where id = ${rows[4]!.id}`,
      `update audit_events set actor_id = actor_id || ' ' where id = ${rows[9]!.id}`,
      `update audit_events set occurred_at = occurred_at + interval '1 microsecond' where id = ${rows[2]!.id}`,
      `update audit_events set occurred_at = occurred_at + interval '1 millisecond' where id = ${rows[2]!.id}`,
      `delete from audit_events where id = ${rows[12]!.id}`,
      `update audit_blocks set root = repeat('0', 64) where seq = 2`,
      `update audit_events set prev_hash = hash where id = ${rows[6]!.id}`,
    ];
    // As a database superuser would: the append-only triggers off, each change undone from a copy.
    await client.query(`create table events_copy as select * from audit_events; create table blocks_copy as select * from audit_blocks;
      alter table audit_events disable trigger user; alter table audit_blocks disable trigger user`);
    try {
      for (const tamper of tampers) {
        await client.query(tamper);
        const byCopy = await verifyAudit(copyDeps(), auditor, { parts: 1 });
        const byBatches = await verifyAudit(batchDeps(), auditor);
        const inParts = await verifyAudit(copyDeps(), auditor, { parts: 2, minPartEvents: 1 });
        await client.query(`delete from audit_events; insert into audit_events select * from events_copy;
          delete from audit_blocks; insert into audit_blocks select * from blocks_copy`);
        expect(byCopy, tamper).toEqual(byBatches);
        expect(inParts, tamper).toEqual(byBatches);
        // One microsecond is below what the hash covers (milliseconds, as to_char gave them).
        expect(byCopy.ok, tamper).toBe(tamper.includes('microsecond'));
      }
      expect(await verifyAudit(copyDeps(), auditor)).toMatchObject({ ok: true });
    } finally {
      await client.query(`alter table audit_events enable always trigger audit_events_no_update_delete; alter table audit_events enable always trigger audit_events_no_truncate;
        alter table audit_blocks enable always trigger audit_blocks_no_update_delete; alter table audit_blocks enable always trigger audit_blocks_no_truncate`);
    }
  }, 120_000);
});

describe('isoTime', () => {
  it('gives what to_char gives for timestamps of every shape', async () => {
    const { rows } = await client.query<{ text: string | null; toChar: string | null }>(
      `set timezone = 'UTC'; set datestyle = 'ISO, YMD';
       select t::text as text, to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "toChar"
       from (select timestamptz '2026-01-05 08:00:00Z' + (n * interval '1.000001 second') * (n * n) as t from generate_series(0, 2000) n
             union all select unnest(array['0001-01-01 00:00:00Z', '9999-12-31 23:59:59.999999Z', '0999-06-01 12:00:00.5Z', '10000-01-01 00:00:00Z',
               '0044-03-15 12:00:00Z BC', 'infinity', '-infinity', '2026-01-05 08:00:00.000999Z']::timestamptz[])) times`,
    ).then((results) => (results as unknown as pg.QueryResult[]).at(-1)!);
    expect(rows.length).toBeGreaterThan(2000);
    for (const { text, toChar } of rows) {
      const iso = isoTime(text);
      // Shapes Brevet never writes are left as they are: never an ISO time, so never a hash that matches.
      if (iso === text) expect(text, `${text} / ${toChar}`).toMatch(/^(infinity|-infinity|\d{5,}-.*|.* BC)$/);
      else expect(iso, text!).toBe(toChar);
    }
  });
});

describe('the verification in parts', () => {
  it('verifies in one go when a part cannot be verified (here: no connection to spare for it)', async () => {
    const single = openPostgres(database.url, { max: 1 });
    try {
      const deps: VerifyDeps = { db: single.db, database: single, auditSigner: signer };
      expect(await verifyAudit(deps, auditor, { parts: 2, minPartEvents: 1 })).toEqual(await verifyAudit(copyDeps(), auditor, { parts: 1 }));
    } finally {
      await single.close();
    }
  }, 60_000);

  it('holds while events are written and sealed meanwhile (each part in the exported snapshot)', async () => {
    const clock = { now: () => new Date() };
    const sealer = createSealer({ db: db.db, clock, signer }, { maxBlockEvents: 3 });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await db.db.transaction((tx) => appendAudit(tx, clock, { actor: { id: 'system', kind: 'system' }, action: 'concurrent', details: { n: 1 } }));
        await sealer.tick();
      }
    })();
    try {
      for (let i = 0; i < 5; i++) {
        const report = await verifyAudit(copyDeps(), auditor, { parts: 3, minPartEvents: 1 });
        expect(report).toMatchObject({ ok: true, firstBrokenId: null });
      }
    } finally {
      writing = false;
      await writer;
    }
  }, 120_000);
});
