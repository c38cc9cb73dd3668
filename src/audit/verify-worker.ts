// A worker thread of GET /v1/audit/verify: verifies parts of the trail (verify-parts.ts), one at a
// time as they are posted, each in the snapshot its verification exported, and posts each report
// back. It lives on between verifications (verify-workers.ts), so that its parser and hashing stay
// optimised: a thread started cold for each verification costs more than the second core gives back.
import { createPublicKey } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import pg from 'pg';
import { EVENT_COPY_SESSION } from './event-copy.js';
import type { TrailReport } from './proof.js';
import { verifyPart, type TrailPart } from './verify-parts.js';

/** What the verification hands a worker for one part. */
export interface PartWork {
  connectionString: string | undefined;
  snapshot: string;
  part: TrailPart;
  publicKeyPem: string | undefined;
}

/** The worker's answer to one PartWork. */
export type PartAnswer = { report: TrailReport } | { error: string };

/**
 * The connection of the last part, kept while this worker lives (it ends after a minute idle,
 * verify-workers.ts) for the next part: one opened for every part cost PostgreSQL about a third
 * more CPU over the verification of a 300,000-event trail (bench/RESULTS.md, 2026-12-03 evening).
 */
let kept: { client: pg.Client; connectionString: string | undefined } | undefined;

async function connectionFor(connectionString: string | undefined): Promise<pg.Client> {
  if (kept !== undefined && kept.connectionString === connectionString) return kept.client;
  drop();
  const client = new pg.Client({ connectionString });
  // Lost while idle (the server restarted, an idle timeout): the next part opens another.
  client.on('error', () => {
    if (kept?.client === client) drop();
  });
  kept = { client, connectionString };
  await client.connect();
  return client;
}

/** Ends the kept connection (and a COPY left unread on it). */
function drop(): void {
  void kept?.client.end().catch(() => {});
  kept = undefined;
}

async function verify(work: PartWork): Promise<PartAnswer> {
  let reusable = false;
  try {
    const client = await connectionFor(work.connectionString);
    await client.query('begin isolation level repeatable read read only');
    await client.query(`set transaction snapshot '${work.snapshot}'`);
    await client.query(EVENT_COPY_SESSION);
    const { report, consumed } = await verifyPart(client, work.part, work.publicKeyPem === undefined ? undefined : createPublicKey(work.publicKeyPem));
    // A verification that stopped at a broken event left the COPY unread: that connection is dropped.
    if (consumed) {
      await client.query('commit');
      reusable = true;
    }
    return { report };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    if (!reusable) drop();
  }
}

parentPort!.on('message', (work: PartWork) => {
  void verify(work).then((answer) => parentPort!.postMessage(answer));
});
