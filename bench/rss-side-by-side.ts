// API processes started with different node flags, driven side by side by the same create load
// (POST /v1/requests, 50 connections each) at the same time, so that the machine's load, whatever
// it is, weighs on each alike (issue 15). For each: RSS idle and peak (VmRSS every 50 ms),
// requests/s, p99, and CPU per create (all its threads, from /proc).
//
//   npx tsx bench/rss-side-by-side.ts '--heap-growing-percent=0 --max-semi-space-size=16' ''
//
// One argument per process: its node flags ('' for none: dist/server.js as it sets itself up;
// `--heap-growing-percent=0` gives V8's own heap growth back). BENCH_SECONDS (15) per round,
// BENCH_ROUNDS (3). Build first (`npm run build`).
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { BrevetClient, startBrevet } from './lib/brevet.js';
import { loadAverage } from './lib/measure.js';
import { createBenchDatabase, openBenchRedis } from './lib/services.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '15');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '3');
const variants = process.argv.slice(2).filter((a) => a !== '--');
if (variants.length === 0) throw new Error("give each process's node flags as one argument ('' for none)");

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/** utime + stime in ms (clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const MB = (kib: number) => (kib * 1024 / 1e6).toFixed(1);

const drive = (url: string, key: string, seconds: number) =>
  autocannon({
    url: `${url}/v1/requests`,
    method: 'POST',
    connections: 50,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ profile: 'bench', durationSeconds: 900, justification: 'benchmark load' }),
  });

console.log(`load average at start: ${loadAverage()}`);
const redis = await openBenchRedis();
const dbs = await Promise.all(variants.map((_, i) => createBenchDatabase(`rss${i}`)));
try {
  const apis = await Promise.all(variants.map((flags, i) => startBrevet(dbs[i]!.url, {}, flags.split(' ').filter(Boolean))));
  try {
    const keys = await Promise.all(
      apis.map(async ({ api, adminKey }) => {
        const admin = new BrevetClient(api.url, adminKey);
        await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
        return (await admin.person('requester', ['bench-dev'])).key;
      }),
    );
    const idle = apis.map(({ api }) => rssKiB(api.pid));
    await Promise.all(apis.map(({ api }, i) => drive(api.url, keys[i]!, Math.ceil(SECONDS / 3))));
    for (let round = 1; round <= ROUNDS; round += 1) {
      const peaks = [...idle];
      const sampler = setInterval(() => apis.forEach(({ api }, i) => (peaks[i] = Math.max(peaks[i]!, rssKiB(api.pid)))), 50);
      const before = apis.map(({ api }) => cpuMs(api.pid));
      const results = await Promise.all(apis.map(({ api }, i) => drive(api.url, keys[i]!, SECONDS)));
      clearInterval(sampler);
      console.log(`round ${round}, load average ${loadAverage()}`);
      results.forEach((r, i) => {
        const creates = r.requests.average * SECONDS;
        const cpu = (cpuMs(apis[i]!.api.pid) - before[i]!) / creates;
        console.log(
          `  [${variants[i] || 'no flags'}] RSS idle ${MB(idle[i]!)} MB, peak ${MB(peaks[i]!)} MB; ${Math.round(r.requests.average)} req/s, ` +
            `p99 ${r.latency.p99} ms, ${cpu.toFixed(3)} ms CPU per create${r.non2xx + r.errors > 0 ? `, ${r.non2xx + r.errors} errors` : ''}`,
        );
      });
    }
  } finally {
    await Promise.all(apis.map(({ api }) => api.stop()));
  }
} finally {
  await Promise.all(dbs.map((db) => db.drop()));
  await redis.release();
}
