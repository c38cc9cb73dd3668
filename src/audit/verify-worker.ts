// A worker thread of GET /v1/audit/verify: verifies one part of the trail (verify-parts.ts) on a
// connection of its own, in the snapshot the verification exported, and posts its report back.
import { createPublicKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { EVENT_COPY_SESSION } from './event-copy.js';
import { verifyPart, type TrailPart } from './verify-parts.js';

/** What the verification hands a worker. */
export interface PartWork {
  connectionString: string | undefined;
  snapshot: string;
  part: TrailPart;
  publicKeyPem: string | undefined;
}

const work = workerData as PartWork;
const client = new pg.Client({ connectionString: work.connectionString });
try {
  await client.connect();
  await client.query('begin isolation level repeatable read read only');
  await client.query(`set transaction snapshot '${work.snapshot}'`);
  await client.query(EVENT_COPY_SESSION);
  const { report } = await verifyPart(client, work.part, work.publicKeyPem === undefined ? undefined : createPublicKey(work.publicKeyPem));
  parentPort!.postMessage({ report });
} catch (error) {
  parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
} finally {
  // Ending the connection ends a COPY left unread as well.
  await client.end().catch(() => {});
}
