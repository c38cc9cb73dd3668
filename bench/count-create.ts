// What one POST /v1/requests costs, counted rather than timed, so that it does not depend on how
// loaded the machine is: the API process talks to PostgreSQL and Redis through counting TCP
// proxies, and the statements (Parse or simple Query messages), round trips (Sync or Query) and
// Redis commands of N sequential creates are listed per create. With LOAD_SECONDS, a load of 50
// connections runs first and the CPU time the API process and its PostgreSQL backends spent per
// create is printed (CPU time still grows with contention: compare runs at similar load).
//   npx tsx bench/count-create.ts            N=100, COUNT_REDIS_URL=redis://127.0.0.1:6379/11
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { BrevetClient, startBrevet } from './lib/brevet.js';
import { backendsCpu, Counts, cpuMs, usedSince } from './lib/counting.js';
import { createBenchDatabase } from './lib/services.js';

const N = Number(process.env['N'] ?? '100');
const counts = new Counts();

const db = await createBenchDatabase('count');
const redisUrl = new URL(process.env['COUNT_REDIS_URL'] ?? 'redis://127.0.0.1:6379/11');
const pgPort = await counts.proxyPostgres(5432);
const redisPort = await counts.proxyRedis(Number(redisUrl.port || 6379));
const dbUrl = new URL(db.url);
dbUrl.port = String(pgPort);
const rUrl = new URL(redisUrl);
rUrl.port = String(redisPort);
const redis = new Redis(redisUrl.toString());
if ((await redis.dbsize()) > 0) throw new Error(`${redisUrl.toString()} is not empty: set COUNT_REDIS_URL to an unused database`);
const { api, adminKey } = await startBrevet(dbUrl.toString(), { REDIS_URL: rUrl.toString() });
try {
  const admin = new BrevetClient(api.url, adminKey);
  await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
  const requester = await admin.person('requester', ['bench-dev']);
  const client = admin.as(requester.key);
  const body = { profile: 'bench', durationSeconds: 900, justification: 'benchmark load' };
  for (let i = 0; i < 20; i++) await client.call('POST', '/v1/requests', body);
  await new Promise((r) => setTimeout(r, 1500));
  if (process.env['LOAD_SECONDS'] !== undefined) {
    const cpuBefore = cpuMs(api.pid);
    const pgBefore = await backendsCpu(new URL(db.url).pathname.slice(1));
    const result = await autocannon({
      url: `${api.url}/v1/requests`,
      method: 'POST',
      connections: 50,
      duration: Number(process.env['LOAD_SECONDS']),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${requester.key}` },
      body: JSON.stringify(body),
    });
    const pgUsed = usedSince(pgBefore, await backendsCpu(new URL(db.url).pathname.slice(1)));
    console.log(
      `load: ${result.requests.average} req/s, p99 ${result.latency.p99} ms, non2xx ${result.non2xx}; per create: API CPU ${((cpuMs(api.pid) - cpuBefore) / result.requests.total).toFixed(2)} ms, PostgreSQL CPU ${(pgUsed / result.requests.total).toFixed(2)} ms`,
    );
  }
  await new Promise((r) => setTimeout(r, 1500));
  counts.counting = true;
  const cpuStart = cpuMs(api.pid);
  let left = N;
  while (left-- > 0) await client.call('POST', '/v1/requests', body);
  const cpuUsed = cpuMs(api.pid) - cpuStart;
  await new Promise((r) => setTimeout(r, 1500));
  counts.counting = false;
  console.log(`per create (N=${N}, one at a time):`);
  console.log(`  API CPU: ${(cpuUsed / N).toFixed(2)} ms`);
  counts.print(N);
} finally {
  await api.stop();
  await redis.flushdb();
  await redis.quit();
  await db.drop();
  process.exit(0);
}
