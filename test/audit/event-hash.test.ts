// SPEC §11: PostgreSQL computes each new event's hash once it has drawn the id (audit/writer.ts);
// that hash must be the one the proofs compute from the event as the API shows it, for any text
// a caller can put in an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHash } from '../../src/audit/proof.js';
import type { TestApp } from '../support/app.js';
import { createProfile, openRequest, startAuditApp, trailFromDatabase } from './helpers.js';

describe('event hashes written by PostgreSQL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startAuditApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('are sha256 of the canonical JSON of the event as read back, whatever its text', async () => {
    const profile = await createProfile(t);
    const alice = await t.principal({ groups: ['dev'] });
    for (const justification of ['Ünïcödé 🎉 — “quoted” \\ back\\slash', 'tab\there "id":"","occurredAt":"x"', '日本語のテキスト ﷽ 𝕏']) {
      await openRequest(t, alice.key, profile.id, justification);
    }
    const trail = await trailFromDatabase(t);
    expect(trail.length).toBeGreaterThan(3);
    for (const event of trail) expect(event.hash, `event ${event.id}`).toBe(eventHash(event));
  });
});
