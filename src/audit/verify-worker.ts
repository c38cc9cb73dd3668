// A worker thread of GET /v1/audit/verify: verifies parts of the trail (verify-parts.ts), one at a
// time as they are posted, each on a connection of its own in the snapshot its verification
// exported, and posts each report back. It lives on between verifications (verify-workers.ts), so
// that its parser and hashing stay optimised: a thread started cold for each verification costs
// more than the second core gives back.
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

async function verify(work: PartWork): Promise<PartAnswer> {
  const client = new pg.Client({ connectionString: work.connectionString });
  try {
    await client.connect();
    await client.query('begin isolation level repeatable read read only');
    await client.query(`set transaction snapshot '${work.snapshot}'`);
    await client.query(EVENT_COPY_SESSION);
    const { report } = await verifyPart(client, work.part, work.publicKeyPem === undefined ? undefined : createPublicKey(work.publicKeyPem));
    return { report };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  } finally {
    // Ending the connection ends a COPY left unread as well.
    await client.end().catch(() => {});
  }
}

parentPort!.on('message', (work: PartWork) => {
  void verify(work).then((answer) => parentPort!.postMessage(answer));
});
