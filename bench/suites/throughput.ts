import autocannon from 'autocannon';
import { BrevetClient, startBrevet } from '../lib/brevet.js';
import { MiB, sampleRss } from '../lib/measure.js';
import { freePort, startProcess } from '../lib/processes.js';
import { createBenchDatabase, openBenchRedis } from '../lib/services.js';

/** Seconds each measured load runs (after a warm-up of a third of it). */
export const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '15');
const CONNECTIONS = 50;

export interface Throughput {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

export async function load(url: string, path: string, headers: Record<string, string>, body: string, seconds: number): Promise<Throughput> {
  const result = await autocannon({
    url: `${url}${path}`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return {
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

const line = (label: string, r: Throughput) =>
  `  ${label}: ${Math.round(r.perSecond).toLocaleString('en-US')} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.errors > 0 ? `, ${r.errors} errors` : ''}`;

/** The bare Fastify + pg baseline: two INSERTs in one transaction, 50 connections. */
export async function baseline(): Promise<Throughput> {
  const db = await createBenchDatabase('baseline');
  try {
    const server = await startProcess('bench/baseline-server.ts', { DATABASE_URL: db.url }, await freePort());
    try {
      const body = JSON.stringify({ profile: 'bench', durationSeconds: 900, justification: 'baseline: the same body size' });
      await load(server.url, '/items', {}, body, Math.ceil(SECONDS / 3));
      const measured = await load(server.url, '/items', {}, body, SECONDS);
      console.log(line('bare Fastify + pg, two INSERTs per transaction', measured));
      return measured;
    } finally {
      await server.stop();
    }
  } finally {
    await db.drop();
  }
}

/** `POST /v1/requests` through a real API process (pending requests: one approval needed), with its RSS. */
export async function createRequests(): Promise<Throughput & { rssPeak: number; rssIdle: number }> {
  const db = await createBenchDatabase('create');
  const redis = await openBenchRedis();
  try {
    const { api, adminKey } = await startBrevet(db.url);
    try {
      const admin = new BrevetClient(api.url, adminKey);
      await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
      const requester = await admin.person('requester', ['bench-dev']);
      const body = JSON.stringify({ profile: 'bench', durationSeconds: 900, justification: 'benchmark load' });
      const headers = { authorization: `Bearer ${requester.key}` };
      const rssIdle = sampleRss(api.pid).stop().last;
      await load(api.url, '/v1/requests', headers, body, Math.ceil(SECONDS / 3));
      const rss = sampleRss(api.pid);
      const measured = await load(api.url, '/v1/requests', headers, body, SECONDS);
      const { peak } = rss.stop();
      console.log(line('POST /v1/requests', measured));
      console.log(`  API RSS: ${MiB(rssIdle)} idle, ${MiB(peak)} peak under this load`);
      return { ...measured, rssPeak: peak, rssIdle };
    } finally {
      await api.stop();
    }
  } finally {
    await redis.release();
    await db.drop();
  }
}
