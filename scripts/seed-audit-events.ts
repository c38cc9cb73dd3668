import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { GENESIS_HASH, chainHash } from '../src/audit/chain.js';
import { CHAIN_LOCK_ID } from '../src/audit/writer.js';

const BATCH = 5_000;
const ACTIONS: [string, number][] = [
  ['request.created', 20],
  ['review.approved', 18],
  ['request.approved', 15],
  ['request.activated', 15],
  ['credentials.issued', 40],
  ['request.ended', 12],
  ['review.denied', 2],
  ['request.denied', 2],
  ['request.refused', 2],
  ['credentials.refused', 2],
  ['request.revoked', 1],
  ['request.expired', 2],
];
const WEIGHT = ACTIONS.reduce((sum, [, w]) => sum + w, 0);

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const id = (prefix: string) => `${prefix}_${randomBytes(10).toString('hex')}`;

function action(): string {
  let roll = Math.random() * WEIGHT;
  for (const [name, weight] of ACTIONS) {
    roll -= weight;
    if (roll < 0) return name;
  }
  return 'request.created';
}

/**
 * Appends `count` realistic events to the audit trail of `databaseUrl`, continuing its hash
 * chain (under the chain lock, so a running Brevet cannot fork it), spread over the last 90 days.
 * Returns some ids for benchmarks to filter on.
 */
export async function seedAuditEvents(databaseUrl: string, count: number, log: (line: string) => void = () => {}) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const principals = Array.from({ length: 2_000 }, () => id('prn'));
  const profiles = Array.from({ length: 100 }, () => id('prf'));
  const requests = Array.from({ length: Math.max(1, Math.floor(count / 20)) }, () => ({ id: id('req'), profileId: pick(profiles), requester: pick(principals) }));
  try {
    await client.query('select pg_advisory_lock($1)', [CHAIN_LOCK_ID]);
    const head = await client.query<{ id: string; hash: string }>('select id::text, hash from audit_events order by id desc limit 1');
    let prevHash = head.rows[0]?.hash ?? GENESIS_HASH;
    let nextId = BigInt(head.rows[0]?.id ?? '0') + 1n;
    const start = Date.now() - 90 * 86_400_000;
    const stepMs = (90 * 86_400_000) / count;
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done);
      const cols: unknown[][] = Array.from({ length: 11 }, () => []);
      for (let i = 0; i < n; i += 1) {
        const request = pick(requests);
        const name = action();
        const actor = name.startsWith('review.') ? pick(principals) : name === 'request.ended' || name === 'request.expired' ? 'system' : request.requester;
        const occurredAt = new Date(Math.floor(start + (done + i) * stepMs));
        const details: Record<string, unknown> =
          name === 'credentials.issued'
            ? { accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`, sessionName: `brevet-${request.id}`, expiration: new Date(occurredAt.getTime() + 3_600_000).toISOString(), format: 'json' }
            : name === 'request.created'
              ? { justification: 'INC-4242 investigate elevated 5xx on the payments API, "urgent", see runbook', durationSeconds: 3600 }
              : {};
        const fields = {
          id: nextId.toString(),
          occurredAt: occurredAt.toISOString(),
          actor: { id: actor, kind: actor === 'system' ? 'system' : 'person' },
          action: name,
          requestId: request.id,
          profileId: request.profileId,
          sourceIp: `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.7`,
          details,
        };
        const hash = chainHash(prevHash, fields);
        const values = [fields.id, occurredAt, actor, fields.actor.kind, name, request.id, request.profileId, fields.sourceIp, JSON.stringify(details), prevHash, hash];
        values.forEach((value, column) => cols[column]!.push(value));
        prevHash = hash;
        nextId += 1n;
      }
      await client.query(
        `insert into audit_events (id, occurred_at, actor_id, actor_kind, action, request_id, profile_id, source_ip, details, prev_hash, hash)
         select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::text[])`,
        cols,
      );
      if ((done / BATCH) % 20 === 0) log(`seeded ${done + n} / ${count}`);
    }
    await client.query(`select setval('audit_events_id_seq', $1)`, [(nextId - 1n).toString()]);
    await client.query('analyze audit_events');
  } finally {
    await client.query('select pg_advisory_unlock($1)', [CHAIN_LOCK_ID]).catch(() => {});
    await client.end();
  }
  return { principals, profiles, requests };
}
