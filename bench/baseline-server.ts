// The bare baseline of `npm run bench` (issue 12): Fastify and node-postgres, one route doing
// what any "state change plus its audit row" must at least do — two INSERTs in one transaction —
// with the same pool size as Brevet, so the ratio measures Brevet's own cost and nothing else.
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: Number(process.env['BENCH_PG_POOL'] ?? '10') });
await pool.query(`
  create table if not exists baseline_items (id bigserial primary key, body jsonb not null, created_at timestamptz not null default now());
  create table if not exists baseline_events (id bigserial primary key, item_id bigint not null, action text not null, created_at timestamptz not null default now());`);

const app = Fastify();
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/items', async (request, reply) => {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: string }>('insert into baseline_items (body) values ($1) returning id', [request.body]);
    await client.query('insert into baseline_events (item_id, action) values ($1, $2)', [rows[0]!.id, 'item.created']);
    await client.query('commit');
    return reply.code(201).send({ id: rows[0]!.id });
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
});
process.on('SIGTERM', () => void app.close().then(() => pool.end()).then(() => process.exit(0)));
await app.listen({ port: Number(process.env['PORT']), host: '127.0.0.1' });
