// Where the time of one approve and one credentials call goes, counted and timed inside the API
// process (bench/lib/phase-trace.mjs): the latency suite's setup, warm-up, then N rounds of
// create → approve → credentials → GET /v1/me, one at a time. Per route it prints the median wall
// time, the CPU the API process used, and how many PostgreSQL statements and Redis commands each
// call awaited; TRACE_FILE keeps every call's timeline (each statement, Redis command and STS call
// with its start and duration) as NDJSON.
//   npm run build && npx tsx bench/trace-latency.ts       N=100
//   PROFILE=1  also writes a CPU profile of the N rounds to $TRACE_FILE.cpuprofile
//   STRACE=1   also runs strace on the API process during the N rounds (/tmp/brevet-trace.strace)
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startAwsStandIn } from '../test/support/aws-stand-in.js';
import { BrevetClient, startBrevet } from './lib/brevet.js';
import { percentile } from './lib/measure.js';
import { createBenchDatabase, openBenchRedis } from './lib/services.js';

const N = Number(process.env['N'] ?? '100');
const file = process.env['TRACE_FILE'] ?? '/tmp/brevet-trace.ndjson';
const tracer = fileURLToPath(new URL('./lib/phase-trace.mjs', import.meta.url));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

rmSync(file, { force: true });
const aws = await startAwsStandIn();
const db = await createBenchDatabase('trace');
const redis = await openBenchRedis();
const { api, adminKey } = await startBrevet(db.url, {
  AWS_ENDPOINT_URL_STS: aws.url,
  AWS_ENDPOINT_URL_IAM: aws.url,
  AWS_ACCESS_KEY_ID: 'AKIDBREVETBENCH',
  AWS_SECRET_ACCESS_KEY: 'brevet-bench-secret',
  AWS_REGION: 'eu-west-1',
  NODE_OPTIONS: `--import ${tracer}`,
  PHASE_TRACE_FILE: file,
});
try {
  const admin = new BrevetClient(api.url, adminKey);
  await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
  const requester = admin.as((await admin.person('requester', ['bench-dev'])).key);
  const approver = admin.as((await admin.person('approver', ['bench-sre'])).key);
  const round = async () => {
    const request = await requester.call<{ id: string }>('POST', '/v1/requests', { profile: 'bench', durationSeconds: 1800, justification: 'latency round' });
    await approver.call('POST', `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
    await requester.call('POST', `/v1/requests/${request.id}/credentials`, { format: 'credential_process' });
    await requester.call('GET', '/v1/me');
  };
  for (let i = 0; i < 20; i++) await round();
  await pause(200);
  rmSync(file, { force: true });
  const strace = process.env['STRACE'] === '1' ? spawn('strace', ['-f', '-tt', '-T', '-o', '/tmp/brevet-trace.strace', '-p', String(api.pid)], { stdio: 'ignore' }) : undefined;
  if (strace !== undefined) await pause(1_000);
  if (process.env['PROFILE'] === '1') process.kill(api.pid, 'SIGUSR2');
  await pause(200);
  for (let i = 0; i < N; i++) await round();
  if (process.env['PROFILE'] === '1') process.kill(api.pid, 'SIGUSR2');
  strace?.kill('SIGINT');
  await pause(1_000);
} finally {
  await api.stop();
  await redis.release();
  await db.drop();
  await aws.close();
}

interface Traced {
  url: string;
  totalMs: number;
  cpuMs: number;
  events: [kind: string, label: string, startMs: number, durationMs: number][];
}
const calls = readFileSync(file, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Traced);
const routes = new Map<string, Traced[]>();
for (const call of calls) {
  const route = call.url.replace(/req_\w+/, '{id}');
  routes.set(route, [...(routes.get(route) ?? []), call]);
}
const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const count = (call: Traced, kind: string) => call.events.filter(([k]) => k === kind).length;
for (const [route, list] of routes) {
  console.log(
    `${route.padEnd(36)} ${String(list.length).padStart(4)} calls: wall p50 ${median(list.map((c) => c.totalMs)).toFixed(1)} ms, ` +
      `API CPU p50 ${median(list.map((c) => c.cpuMs)).toFixed(1)} ms, PostgreSQL statements ${median(list.map((c) => count(c, 'pg')))}, ` +
      `Redis commands ${median(list.map((c) => count(c, 'redis')))}, outgoing HTTP ${median(list.map((c) => count(c, 'http-out')))}`,
  );
}
console.log(`timelines: ${file}`);
