// SPEC §11: checkpoints leave the database — every sealed block is appended to
// BREVET_AUDIT_CHECKPOINT_DIR (one NDJSON file per UTC day) and sent as the signed webhook
// `audit.checkpoint`; GET /v1/audit/checkpoints lists the blocks and GET /v1/audit/public-key
// serves the key they verify under.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointWriter } from '../../src/audit/checkpoints.js';
import { signatureHolds, type ProofBlock } from '../../src/audit/proof.js';
import { createSealer } from '../../src/audit/sealer.js';
import { deliveries } from '../../src/db/schema.js';
import { attemptDelivery } from '../../src/webhooks/deliveries.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import type { TestApp } from '../support/app.js';
import { auth, blocksFromDatabase, createProfile, expectProblem, openRequest, startAuditApp } from './helpers.js';

const { privateKey } = generateKeyPairSync('ed25519');
let t: TestApp;
let receiver: WebhookReceiver;
let dir: string;
let sealed: ProofBlock[];
let requester: { id: string; key: string };

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  dir = mkdtempSync(path.join(tmpdir(), 'brevet-checkpoints-'));
  t = await startAuditApp({
    env: {
      BREVET_AUDIT_SIGNING_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      BREVET_AUDIT_CHECKPOINT_DIR: dir,
      BREVET_WEBHOOK_URLS: receiver.url,
      BREVET_WEBHOOK_SECRET: 'whsec_checkpoint_test_0123456789',
    },
  });
  const sealer = createSealer({ db: t.deps.db, clock: t.deps.clock, signer: t.deps.auditSigner, webhooks: t.deps.webhooks });
  const profile = await createProfile(t);
  requester = await t.principal({ groups: ['dev'] });
  // Three blocks on two UTC days.
  t.clock.set(new Date('2032-03-01T23:59:59.000Z'));
  sealed = await sealer.catchUp();
  await openRequest(t, requester.key, profile.id);
  sealed.push(...(await sealer.catchUp()));
  t.clock.set(new Date('2032-03-02T00:00:01.000Z'));
  await openRequest(t, requester.key, profile.id);
  sealed.push(...(await sealer.catchUp()));
  expect(sealed.map((b) => b.seq)).toEqual([1, 2, 3]);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

const readDir = () =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
const lines = (blocks: ProofBlock[]) => blocks.map((b) => `${JSON.stringify(b)}\n`).join('');

describe('the checkpoint directory', () => {
  it('gets every block, once, in the file of the UTC day it was sealed', async () => {
    expect(await createCheckpointWriter(t.deps.db, dir).sync()).toBe(3);
    expect(readDir()).toEqual({
      'audit-checkpoints-2032-03-01.ndjson': lines(sealed.slice(0, 2)),
      'audit-checkpoints-2032-03-02.ndjson': lines(sealed.slice(2)),
    });
    // A process starting later reads where the files end: nothing is appended twice.
    expect(await createCheckpointWriter(t.deps.db, dir).sync()).toBe(0);
  });

  it('ends a line cut short by a crash, so the blocks after it stay readable', async () => {
    appendFileSync(path.join(dir, 'audit-checkpoints-2032-03-02.ndjson'), '{"seq":4,"firstEv');
    await openRequest(t, requester.key, (await createProfile(t)).id);
    const [fourth] = await createSealer({ db: t.deps.db, clock: t.deps.clock, signer: t.deps.auditSigner }).catchUp();
    expect(await createCheckpointWriter(t.deps.db, dir).sync()).toBe(1);
    expect(readDir()['audit-checkpoints-2032-03-02.ndjson']).toBe(`${lines(sealed.slice(2))}{"seq":4,"firstEv\n${lines([fourth!])}`);
    sealed.push(fourth!);
  });
});

describe('GET /v1/audit/checkpoints', () => {
  it('lists the blocks oldest first, page by page, exactly as stored', async () => {
    const pages: ProofBlock[] = [];
    let cursor: string | null = null;
    do {
      const response = await t.http().get('/v1/audit/checkpoints').query({ limit: 1, ...(cursor === null ? {} : { cursor }) }).set(auth(t.adminKey));
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const page = response.body as { items: ProofBlock[]; nextCursor: string | null };
      pages.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages).toEqual(await blocksFromDatabase(t));
    expect(pages).toEqual(sealed);
  });

  it('is for auditors and admins', async () => {
    expectProblem(await t.http().get('/v1/audit/checkpoints').set(auth(requester.key)), 403, 'forbidden');
  });
});

describe('GET /v1/audit/public-key', () => {
  it('serves the key every block verifies under', async () => {
    const response = await t.http().get('/v1/audit/public-key').set(auth(requester.key));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ alg: 'Ed25519', publicKey: createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }), keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const publicKey = createPublicKey(response.body.publicKey);
    for (const block of sealed) expect(signatureHolds(block.hash, block.signature!, publicKey)).toBe(true);
  });

  it('is 404 where blocks are sealed unsigned', async () => {
    const unsigned = await startAuditApp();
    try {
      expectProblem(await unsigned.http().get('/v1/audit/public-key').set(auth(unsigned.adminKey)), 404, 'not-found');
      expect(unsigned.logs.join('')).toMatch(/BREVET_AUDIT_SIGNING_KEY is not set/);
    } finally {
      await unsigned.close();
    }
  });
});

describe('the webhook audit.checkpoint', () => {
  it('is recorded with each block and delivered signed, carrying the block', async () => {
    const rows = await t.deps.db.select().from(deliveries).where(eq(deliveries.event, 'audit.checkpoint'));
    expect(rows.map((r) => (r.payload as { block: ProofBlock }).block)).toEqual(sealed.slice(0, 3));
    for (const row of rows) expect(await attemptDelivery(t.deps, t.deps.webhooks, row.id)).toBe('delivered');
    const bodies = receiver.received.map((r) => JSON.parse(r.rawBody) as { event: string; block: ProofBlock });
    expect(bodies.map((b) => b.event)).toEqual(['audit.checkpoint', 'audit.checkpoint', 'audit.checkpoint']);
    expect(bodies.map((b) => b.block)).toEqual(sealed.slice(0, 3));
    expect(receiver.received.every((r) => typeof r.headers['brevet-signature'] === 'string')).toBe(true);
  });
});
