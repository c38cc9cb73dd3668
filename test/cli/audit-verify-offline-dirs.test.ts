// SPEC §11 offline verification, as people run it on a live system: an export whose last events
// were sealed only after it was taken, together with later events (the checkpoint directory
// kept growing); checkpoints kept as GET /v1/audit/checkpoints lists them rather than as the
// server's daily files; and a directory that holds no checkpoint at all.
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointWriter } from '../../src/audit/checkpoints.js';
import type { TestApp } from '../support/app.js';
import { auth, blocksFromDatabase, createProfile, openRequest, sealAll, startAuditApp } from '../audit/helpers.js';
import { runCli } from './helpers.js';

const { privateKey } = generateKeyPairSync('ed25519');
let t: TestApp;
let work: string;
let checkpoints: string;
let publicKeyFile: string;
/** Exported while its last two events were not sealed yet. */
let exportFile: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'brevet-offline-dirs-'));
  checkpoints = path.join(work, 'checkpoints');
  t = await startAuditApp({ env: { BREVET_AUDIT_SIGNING_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), BREVET_AUDIT_CHECKPOINT_DIR: checkpoints } });
  const profile = await createProfile(t);
  const requester = await t.principal({ groups: ['dev'] });
  await openRequest(t, requester.key, profile.id);
  await sealAll(t);
  await openRequest(t, requester.key, profile.id);
  exportFile = await exportTo('live.ndjson');
  // The export file was written an hour ago; since then more happened, and the next block sealed
  // the export's last events together with the new ones.
  const writtenAt = new Date(t.clock.now().getTime() - 3_600_000);
  utimesSync(exportFile, writtenAt, writtenAt);
  await openRequest(t, requester.key, profile.id);
  await sealAll(t);
  await createCheckpointWriter(t.deps.db, checkpoints).sync();
  const key = await t.http().get('/v1/audit/public-key').set(auth(t.adminKey));
  publicKeyFile = path.join(work, 'audit-key.pem');
  writeFileSync(publicKeyFile, key.body.publicKey);
});
afterAll(async () => {
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

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

const offline = (file: string, dir: string, ...more: string[]) => runCli(['audit', 'verify', '--export', file, '--checkpoints', dir, '--public-key', publicKeyFile, ...more], {});

describe('an export taken before its last events were sealed', () => {
  it('holds without --exported-at: the file’s time says when it was taken, its last events are unsealed', async () => {
    const blocks = await blocksFromDatabase(t);
    expect(blocks).toHaveLength(2);
    const exportedIds = readFileSync(exportFile, 'utf8').trimEnd().split('\n').map((line) => BigInt((JSON.parse(line) as { id: string }).id));
    const last = exportedIds.at(-1)!;
    expect(BigInt(blocks[1]!.firstEventId) <= last && last < BigInt(blocks[1]!.lastEventId), 'the second block straddles the export’s end').toBe(true);

    const result = await offline(exportFile, checkpoints, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      blocks: 1,
      beyondExport: 1,
      unsealed: exportedIds.filter((id) => id > BigInt(blocks[0]!.lastEventId)).length,
    });
  });

  it('fails when the file says it was taken after that block was sealed: its events were cut from the export', async () => {
    const copy = path.join(work, 'copied-later.ndjson');
    writeFileSync(copy, readFileSync(exportFile));
    const result = await offline(copy, checkpoints);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/first broken block 2 .*which the export does not hold/);
  });
});

describe('checkpoints kept as the API lists them', () => {
  it('verifies against a page of GET /v1/audit/checkpoints saved as JSON, and fails on an edited export', async () => {
    const dir = path.join(work, 'from-api');
    mkdirSync(dir);
    const page = await t.http().get('/v1/audit/checkpoints').query({ limit: 500 }).set(auth(t.adminKey)).expect(200);
    expect(page.body.items).toHaveLength(2);
    writeFileSync(path.join(dir, 'checkpoints.json'), JSON.stringify(page.body, null, 2));
    const full = await exportTo('full.ndjson');
    const result = await offline(full, dir, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, blocks: 2, unsealed: 0 });

    const lines = readFileSync(full, 'utf8').trimEnd().split('\n');
    const target = JSON.parse(lines[1]!) as { id: string; action: string };
    lines[1] = JSON.stringify({ ...target, action: 'request.cancelled' });
    writeFileSync(full, `${lines.join('\n')}\n`);
    const edited = await offline(full, dir);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain(`first broken event ${target.id}`);
  });

  it('fails on a directory without any checkpoint, rather than calling every event unsealed', async () => {
    const empty = path.join(work, 'empty');
    mkdirSync(empty);
    writeFileSync(path.join(empty, 'notes.json'), '{"hello":"world"}');
    const result = await offline(exportFile, empty);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no checkpoint in');
  });
});
