import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSealer } from '../src/audit/sealer.js';
import { blockSigner } from '../src/audit/signing-key.js';
import { verifyAudit } from '../src/audit/verify-trail.js';
import { appendAudit, systemActor } from '../src/audit/writer.js';
import { openPostgres, type Database } from '../src/db/client.js';
import { openPglite } from '../src/db/pglite.js';
import type { Caller } from '../src/domain/caller.js';
import { sqlState } from '../src/db/errors.js';
import { TestClock } from './support/clock.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const EXPECTED_TABLES = [
  'api_keys',
  'audit_blocks',
  'audit_events',
  'deliveries',
  'idempotency_keys',
  'issuances',
  'principals',
  'profile_versions',
  'profiles',
  'requests',
  'reviews',
];

const journal = JSON.parse(readFileSync(new URL('../migrations/meta/_journal.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
};

async function rows<T>(database: Database, query: SQL): Promise<T[]> {
  return ((await database.db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** The full message chain: drizzle wraps the driver's error, whose message names the trigger's reason. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(' | ');
}

async function refusal(statement: Promise<unknown>): Promise<unknown> {
  try {
    await statement;
  } catch (error) {
    return error;
  }
  throw new Error('the statement succeeded');
}

const engines: { name: string; open: () => Promise<{ database: Database; dispose: () => Promise<void> }> }[] = [
  {
    name: 'PGlite (dev mode)',
    open: async () => {
      const database = openPglite(undefined);
      return { database, dispose: () => database.close() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async () => {
      const test: TestDatabase = await createTestDatabase();
      const database = openPostgres(test.url, { max: 2 });
      return {
        database,
        dispose: async () => {
          await database.close();
          await test.drop();
        },
      };
    },
  },
];

describe.each(engines)('migrations on $name', ({ open }) => {
  let database: Database;
  let dispose: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ database, dispose } = await open());
    await database.migrate();
  });
  afterAll(async () => {
    await dispose?.();
  });

  it('creates every table', async () => {
    const tables = await rows<{ table_name: string }>(
      database,
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(EXPECTED_TABLES));
  });

  it('is harmless to run twice', async () => {
    await database.migrate();
    const applied = await rows<{ count: number | string }>(database, sql`select count(*) as count from drizzle.__drizzle_migrations`);
    expect(Number(applied[0]!.count)).toBe(journal.entries.length);
    await database.ping();
  });

  describe('the audit table is append-only', () => {
    beforeAll(async () => {
      await database.db.execute(sql`
        insert into audit_events (occurred_at, actor_id, actor_kind, action, details, prev_hash, hash)
        values (now(), 'system', 'system', 'test.inserted', '{}'::jsonb, ${'0'.repeat(64)}, ${'a'.repeat(64)})`);
    });

    it.each([
      ['UPDATE', sql`update audit_events set action = 'test.tampered'`],
      ['DELETE', sql`delete from audit_events`],
      ['TRUNCATE', sql`truncate audit_events`],
      ['TRUNCATE … CASCADE', sql`truncate audit_events cascade`],
    ])('refuses %s', async (_verb, statement) => {
      const error = await refusal(database.db.execute(statement));
      expect(sqlState(error)).toBe('42501');
      expect(messages(error)).toMatch(/append-only/);

      const left = await rows<{ action: string }>(database, sql`select action from audit_events`);
      expect(left).toEqual([{ action: 'test.inserted' }]);
    });

    it('still accepts appends', async () => {
      await database.db.execute(sql`
        insert into audit_events (occurred_at, actor_id, actor_kind, action, details, prev_hash, hash)
        values (now(), 'system', 'system', 'test.appended', '{}'::jsonb, ${'a'.repeat(64)}, ${'b'.repeat(64)})`);
      const all = await rows<{ action: string }>(database, sql`select action from audit_events order by id`);
      expect(all.map((r) => r.action)).toEqual(['test.inserted', 'test.appended']);
    });
  });
});

// SPEC §11 on both engines (dev mode runs the sealer inside the API process on PGlite): events
// written without a lock are sealed into one signed block, and the trail verifies.
describe.each(engines)('audit sealing on $name', ({ open }) => {
  let database: Database;
  let dispose: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ database, dispose } = await open());
    await database.migrate();
  });
  afterAll(async () => {
    await dispose?.();
  });

  it('seals the events written so far into a signed block that verifies', async () => {
    const clock = new TestClock();
    for (let i = 0; i < 5; i++) {
      await database.db.transaction((tx) => appendAudit(tx, clock, { actor: systemActor, action: 'test.sealed', details: { i } }));
    }
    const signer = blockSigner(generateKeyPairSync('ed25519').privateKey);
    const blocks = await createSealer({ db: database.db, clock, signer }).catchUp();
    expect(blocks).toMatchObject([{ seq: 1, count: 5, prevBlockHash: '0'.repeat(64) }]);
    const auditor: Caller = { id: 'prn_auditor', kind: 'person', email: null, displayName: 'Auditor', groups: [], amr: [], via: 'api-key', isAdmin: false, isAuditor: true, sourceIp: null };
    expect(await verifyAudit({ db: database.db, auditSigner: signer }, auditor)).toMatchObject({ ok: true, checked: 5, blocks: 1, unsealed: 0, unsigned: 0 });
  });
});
