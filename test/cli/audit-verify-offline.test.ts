// SPEC §11: `brevet audit verify --export FILE --checkpoints DIR --public-key FILE` verifies
// offline, from an NDJSON export, the checkpoint files and the public key alone: exit 0 when all
// holds (events past the last checkpoint reported as unsealed), else 1 naming the first broken
// event or block — including (d) after a database superuser rewrote the whole table with
// recomputed hashes and a re-made block chain, which the database alone cannot show.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointWriter } from '../../src/audit/checkpoints.js';
import { eventHash } from '../../src/audit/proof.js';
import { createSealer } from '../../src/audit/sealer.js';
import { verifyAudit } from '../../src/audit/verify-trail.js';
import type { Caller } from '../../src/domain/caller.js';
import type { TestApp } from '../support/app.js';
import type { ProofBlock } from '../../src/audit/proof.js';
import { asSuperuser, auth, blocksFromDatabase, createProfile, openRequest, sealAll, startAuditApp, trailFromDatabase, verify } from '../audit/helpers.js';
import { runCli } from './helpers.js';

const { privateKey } = generateKeyPairSync('ed25519');
const auditorCaller: Caller = { id: 'prn_auditor', kind: 'person', email: null, displayName: 'auditor', groups: [], amr: [], via: 'api-key', isAdmin: false, isAuditor: true, sourceIp: null };
let t: TestApp;
let work: string;
let checkpoints: string;
let publicKeyFile: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'brevet-offline-'));
  checkpoints = path.join(work, 'checkpoints');
  t = await startAuditApp({ env: { BREVET_AUDIT_SIGNING_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), BREVET_AUDIT_CHECKPOINT_DIR: checkpoints } });
  const profile = await createProfile(t);
  const requester = await t.principal({ groups: ['dev'] });
  await sealAll(t);
  await openRequest(t, requester.key, profile.id);
  await openRequest(t, requester.key, profile.id);
  await sealAll(t);
  await createCheckpointWriter(t.deps.db, checkpoints).sync();
  // Two more events, not sealed yet.
  await openRequest(t, requester.key, profile.id);
  await openRequest(t, requester.key, profile.id);
  const key = await t.http().get('/v1/audit/public-key').set(auth(t.adminKey));
  publicKeyFile = path.join(work, 'audit-key.pem');
  writeFileSync(publicKeyFile, key.body.publicKey);
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

/** GET /v1/audit/export?format=ndjson, saved to a file. */
async function exportTo(name: string): Promise<string> {
  const response = await t.http().get('/v1/audit/export').query({ format: 'ndjson' }).set(auth(t.adminKey)).buffer(true).parse((res, done) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => done(null, body));
  });
  expect(response.status).toBe(200);
  const file = path.join(work, name);
  writeFileSync(file, response.body as string);
  return file;
}

const offline = (exportFile: string, keyFile = publicKeyFile, ...more: string[]) =>
  runCli(['audit', 'verify', '--export', exportFile, '--checkpoints', checkpoints, '--public-key', keyFile, ...more], {});

describe('an intact trail', () => {
  it('verifies offline: exit 0, the events past the last checkpoint reported as unsealed', async () => {
    const file = await exportTo('intact.ndjson');
    const trail = await trailFromDatabase(t);
    const json = await offline(file, publicKeyFile, '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, checked: trail.length, blocks: 2, unsealed: 2, unsigned: 0, beyondExport: 0 });
    const text = await offline(file);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/intact: \d+ events checked against 2 signed checkpoints .*2 unsealed/);
  });

  it('fails under a wrong public key, naming the first block', async () => {
    const file = await exportTo('intact.ndjson');
    const wrong = path.join(work, 'wrong.pem');
    writeFileSync(wrong, generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }));
    const result = await offline(file, wrong);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/first broken block 1 .*signature/);
  });

  it('fails on an export edited after the fact, naming the event', async () => {
    const file = await exportTo('edited.ndjson');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const target = JSON.parse(lines[3]!) as { id: string; details: Record<string, unknown> };
    lines[3] = JSON.stringify({ ...target, details: { ...target.details, edited: true } });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = await offline(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`first broken event ${target.id}`);
  });
});

describe('a trail cut short at its end', () => {
  // What an export looks like after a database superuser deleted the trail's last events and the
  // blocks that sealed them: the database then holds together, only the checkpoint files remember.
  async function exportEndingAt(name: string, lastId: string | undefined): Promise<string> {
    const lines = readFileSync(await exportTo(`${name}.full.ndjson`), 'utf8').trimEnd().split('\n');
    const kept = lastId === undefined ? [] : lines.filter((line) => BigInt((JSON.parse(line) as { id: string }).id) <= BigInt(lastId));
    const file = path.join(work, `${name}.ndjson`);
    writeFileSync(file, kept.map((line) => `${line}\n`).join(''));
    return file;
  }

  it.each([
    ['the events of the last checkpoint gone', (blocks: ProofBlock[]) => blocks[0]!.lastEventId, 2],
    ['the last event of the last checkpoint gone', (blocks: ProofBlock[]) => String(BigInt(blocks[1]!.lastEventId) - 1n), 2],
    ['every event gone', () => undefined, 1],
  ])('fails with %s, naming that checkpoint', async (name, lastId, broken) => {
    const blocks = await blocksFromDatabase(t);
    expect(blocks).toHaveLength(2);
    const file = await exportEndingAt(name.replaceAll(' ', '-'), lastId(blocks));
    const result = await offline(file);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`first broken block ${broken} .*which the export does not hold`));
    const json = await offline(file, publicKeyFile, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBrokenBlock: broken, firstBrokenId: blocks[broken - 1]!.firstEventId });
  });

  it('holds for an export taken before the last checkpoint was sealed, given when it was taken', async () => {
    const blocks = await blocksFromDatabase(t);
    const file = await exportEndingAt('taken-earlier', blocks[0]!.lastEventId);
    const takenAt = new Date(Date.parse(blocks[1]!.sealedAt) - 1).toISOString();
    const result = await offline(file, publicKeyFile, '--exported-at', takenAt);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/intact: \d+ events checked against 1 signed checkpoints/);
    expect(result.stderr).toContain('1 checkpoints sealed after the export was taken: not checked');
    // Given a time after that checkpoint was sealed, the export must hold its events.
    const late = await offline(file, publicKeyFile, '--exported-at', blocks[1]!.sealedAt);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/first broken block 2 /);
  });

  it.each(['yesterday', '2026-12-03T17:00:00', '2026-13-03T17:00:00Z'])('refuses --exported-at %s (exit 2)', async (value) => {
    const result = await offline(await exportTo('any.ndjson'), publicKeyFile, '--exported-at', value);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--exported-at takes an ISO 8601 time with its offset');
  });
});

describe('(d) the whole table rewritten by a database superuser', () => {
  it('with every hash recomputed and the blocks re-made: the database alone is fooled, the checkpoints are not', async () => {
    const trail = await trailFromDatabase(t);
    const target = trail.find((e) => e.action === 'request.created')!;
    await asSuperuser(t, async (client) => {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query('ALTER TABLE audit_blocks DISABLE TRIGGER USER');
      for (const event of trail) {
        const rewritten = event.id === target.id ? { ...event, details: { ...event.details, justification: 'nothing to see here' } } : event;
        await client.query('update audit_events set details = $2, hash = $3 where id = $1', [event.id, JSON.stringify(rewritten.details), eventHash(rewritten)]);
      }
      await client.query('delete from audit_blocks');
    });
    // Re-sealed without the key (the forger does not have it): the database's own check holds, and
    // only the checkpoint files show it: those of the API's BREVET_AUDIT_CHECKPOINT_DIR, and the
    // copy the offline check reads.
    await createSealer({ db: t.deps.db, clock: t.deps.clock, signer: undefined }).catchUp();
    expect(await verifyAudit({ db: t.deps.db, auditSigner: t.deps.auditSigner }, { ...auditorCaller })).toMatchObject({ ok: true, firstBrokenId: null, unsealed: 0 });
    expect(await verify(t, t.adminKey)).toMatchObject({ ok: false, firstBrokenBlock: 1, problem: expect.stringMatching(/block 1: (its signature was removed|differs from its checkpoint)/) });

    const file = await exportTo('rewritten.ndjson');
    const result = await offline(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/first broken block \d+ .*Merkle root/);
  });
});
