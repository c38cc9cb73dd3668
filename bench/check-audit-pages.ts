import { and, asc, desc, gt, lt } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { auditConditions, pageAuditEvents, type AuditFilters } from '../src/audit/repo.js';
import type { Db } from '../src/db/client.js';
import * as schema from '../src/db/schema.js';
import { auditEvents } from '../src/db/schema.js';

/**
 * `DATABASE_URL=… npx tsx bench/check-audit-pages.ts [cases]`: differential check of the
 * time-filtered GET /v1/audit pages on a large trail (seed one with `npm run seed:audit`, ideally
 * with events appended out of time order too, or `BENCH_KEEP_DB=1 npm run bench`). Each random
 * case (time range, other filters, cursor, order, limit) is answered by pageAuditEvents and by the
 * plain keyset query, which must agree exactly. Prints the latency of both, per shape of range,
 * and which step of pageAuditEvents answered.
 */
const url = process.env['DATABASE_URL'];
if (url === undefined) throw new Error('DATABASE_URL is required');
const cases = Number(process.argv[2] ?? '300');
const pool = new pg.Pool({ connectionString: url, max: 2 });
let queries: string[] = [];
const db = drizzle(pool, { schema, logger: { logQuery: (query) => queries.push(query) } }) as unknown as Db;
const plainDb = drizzle(pool, { schema }) as unknown as Db;

/** How pageAuditEvents answered, from its last query. */
function strategy(sql: string | undefined): string {
  if (sql === undefined) return 'none';
  if (sql.includes('"matches"')) return 'sort';
  if (sql.includes('"walked"')) return 'walk (column index)';
  if (sql.includes('min(')) return 'ends only';
  return 'walk';
}

/** The straightforward query: what every page must return. */
async function plainPage(filters: AuditFilters, page: { afterId?: bigint | undefined; limit: number; order: 'asc' | 'desc' }) {
  const keyset = page.afterId === undefined ? undefined : page.order === 'asc' ? gt(auditEvents.id, page.afterId) : lt(auditEvents.id, page.afterId);
  return plainDb
    .select()
    .from(auditEvents)
    .where(and(auditConditions(filters), keyset))
    .orderBy(page.order === 'asc' ? asc(auditEvents.id) : desc(auditEvents.id))
    .limit(page.limit);
}

const [span] = rowsOf<{ low: string; high: string; first: Date; last: Date }>(
  await pool.query('select min(id)::text as low, max(id)::text as high, min(occurred_at) as first, max(occurred_at) as last from audit_events'),
);
const actors = rowsOf<{ actor_id: string }>(await pool.query('select actor_id from audit_events tablesample system (1) limit 50')).map((r) => r.actor_id);
const profiles = rowsOf<{ profile_id: string }>(await pool.query('select profile_id from audit_events tablesample system (1) where profile_id is not null limit 50')).map((r) => r.profile_id);
const actions = rowsOf<{ action: string }>(await pool.query('select distinct action from audit_events tablesample system (1)')).map((r) => r.action);
function rowsOf<T>(result: { rows: unknown[] }): T[] {
  return result.rows as T[];
}

const random = (n: number) => Math.floor(Math.random() * n);
const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;
const low = BigInt(span!.low);
const high = BigInt(span!.high);
const first = span!.first.getTime();
const last = span!.last.getTime();
const widths = [60_000, 3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000, last - first];

interface Stat {
  label: string;
  group: string;
  how: string;
  ms: number;
  plainMs: number;
  queries: number;
}
const stats: Stat[] = [];
let failures = 0;
for (let i = 0; i < cases; i += 1) {
  const width = pick(widths);
  const start = first - 3_600_000 + Math.random() * (last - first + 7_200_000 - width);
  const shape = pick(['from+to', 'from+to', 'from+to', 'from', 'to'] as const);
  const filters: AuditFilters = {
    from: shape === 'to' ? undefined : new Date(start),
    to: shape === 'from' ? undefined : new Date(start + width),
  };
  const extra = pick(['none', 'none', 'none', 'action', 'actor', 'profile'] as const);
  if (extra === 'action') filters.action = pick(actions);
  if (extra === 'actor') filters.actor = pick(actors);
  if (extra === 'profile') filters.profileId = pick(profiles);
  const order = pick(['asc', 'desc'] as const);
  const limit = pick([1, 2, 101, 101, 101, 501]);
  const cursorKind = pick(['none', 'none', 'random', 'edge'] as const);
  const afterId =
    cursorKind === 'none'
      ? undefined
      : cursorKind === 'edge'
        ? pick([0n, low, high, high + 5n, 2n ** 63n - 1n])
        : low + (BigInt(random(1_000_000)) * (high - low)) / 1_000_000n;
  const page = { afterId, limit, order };

  queries = [];
  let t0 = performance.now();
  const got = await pageAuditEvents(db, filters, page);
  const ms = performance.now() - t0;
  const took = queries.length;
  const how = `${strategy(queries.at(-1))}${took === 2 ? ' (first walk)' : ''}`;
  t0 = performance.now();
  const want = await plainPage(filters, page);
  const plainMs = performance.now() - t0;

  const label = `${shape} ${Math.round(width / 3_600_000)}h${extra === 'none' ? '' : ` +${extra}`} ${order} limit ${limit} cursor ${cursorKind}`;
  if (JSON.stringify(got, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) !== JSON.stringify(want, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) {
    failures += 1;
    console.log(`MISMATCH ${label}: from=${filters.from?.toISOString()} to=${filters.to?.toISOString()} after=${afterId} got ${got.length} ids ${got.slice(0, 3).map((r) => r.id)}…, want ${want.length} ids ${want.slice(0, 3).map((r) => r.id)}…`);
  }
  stats.push({ label, group: `${shape} ${Math.round(width / 3_600_000)}h`, how, ms, plainMs, queries: took });
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const pct = (values: number[], p: number) => sorted(values)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const ms = stats.map((s) => s.ms);
const plain = stats.map((s) => s.plainMs);
console.log(`${cases} cases, ${failures} mismatches`);
console.log(`pageAuditEvents: p50 ${pct(ms, 50).toFixed(1)} ms, p95 ${pct(ms, 95).toFixed(1)} ms, max ${pct(ms, 100).toFixed(1)} ms; queries p50 ${pct(stats.map((s) => s.queries), 50)}, max ${pct(stats.map((s) => s.queries), 100)}`);
console.log(`plain query:     p50 ${pct(plain, 50).toFixed(1)} ms, p95 ${pct(plain, 95).toFixed(1)} ms, max ${pct(plain, 100).toFixed(1)} ms`);
for (const group of [...new Set(stats.map((s) => s.group))].sort()) {
  const of = stats.filter((s) => s.group === group);
  const line = (values: number[]) => `p50 ${pct(values, 50).toFixed(1)} / p95 ${pct(values, 95).toFixed(1)} ms`;
  console.log(`  ${group.padEnd(16)} ${String(of.length).padStart(4)} cases: page ${line(of.map((s) => s.ms))}, plain ${line(of.map((s) => s.plainMs))}`);
}
console.log('answered by:');
for (const how of [...new Set(stats.map((s) => s.how))].sort()) {
  const of = stats.filter((s) => s.how === how);
  console.log(`  ${how.padEnd(28)} ${String(of.length).padStart(4)} pages, p50 ${pct(of.map((s) => s.ms), 50).toFixed(1)} ms, p95 ${pct(of.map((s) => s.ms), 95).toFixed(1)} ms`);
}
console.log('slowest pages:');
for (const s of [...stats].sort((a, b) => b.ms - a.ms).slice(0, 8)) console.log(`  ${s.ms.toFixed(1)} ms (plain ${s.plainMs.toFixed(1)} ms, ${s.queries} queries): ${s.label}`);
await pool.end();
if (failures > 0) process.exitCode = 1;
