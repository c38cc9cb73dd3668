import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { eventHash } from '../src/audit/proof.js';

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
 * Appends `count` realistic events to the audit trail of `databaseUrl`, each with its own hash
 * and ids drawn from the trail's sequence (so a running Brevet writes on beside it), spread over
 * the last 90 days; the sealer seals them like any other.
 * Returns some ids for benchmarks to filter on.
 */
export async function seedAuditEvents(databaseUrl: string, count: number, log: (line: string) => void = () => {}) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const principals = Array.from({ length: 2_000 }, () => id('prn'));
  const profiles = Array.from({ length: 100 }, () => id('prf'));
  const requests = Array.from({ length: Math.max(1, Math.floor(count / 20)) }, () => ({ id: id('req'), profileId: pick(profiles), requester: pick(principals) }));
  try {
    const start = Date.now() - 90 * 86_400_000;
    const stepMs = (90 * 86_400_000) / count;
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done);
      const cols: unknown[][] = Array.from({ length: 10 }, () => []);
      const ids = await client.query<{ id: string }>(`select nextval('audit_events_id_seq')::text as id from generate_series(1, $1::int)`, [n]);
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
          id: ids.rows[i]!.id,
          occurredAt: occurredAt.toISOString(),
          actor: { id: actor, kind: actor === 'system' ? 'system' : 'person' },
          action: name,
          requestId: request.id,
          profileId: request.profileId,
          sourceIp: `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.7`,
          details,
        };
        const values = [fields.id, occurredAt, actor, fields.actor.kind, name, request.id, request.profileId, fields.sourceIp, JSON.stringify(details), eventHash(fields)];
        values.forEach((value, column) => cols[column]!.push(value));
      }
      await client.query(
        `insert into audit_events (id, occurred_at, actor_id, actor_kind, action, request_id, profile_id, source_ip, details, hash)
         select * from unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::text[])`,
        cols,
      );
      if ((done / BATCH) % 20 === 0) log(`seeded ${done + n} / ${count}`);
    }
    await client.query('analyze audit_events');
  } finally {
    await client.end();
  }
  return { principals, profiles, requests };
}
