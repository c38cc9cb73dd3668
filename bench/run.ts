// `npm run bench` (issue 12): Brevet's paths measured against a bare baseline on this machine, in
// one process tree, and the ratios the targets are stated in. `npm run bench -- <suite>...` runs
// some suites only: baseline+create, latency, lateness, audit, sealing. The numbers are only as good as the
// machine is quiet: the load average is printed at the start and at the end.
import { approveAndCredentials, type DecisionLatency } from './suites/latency.js';
import { activationLateness, type Lateness } from './suites/lateness.js';
import { auditAtScale } from './suites/audit-scale.js';
import { sealing, type Sealing } from './suites/sealing.js';
import { baseline, createRequests, type Throughput } from './suites/throughput.js';
import { loadAverage, machine, MiB, ms } from './lib/measure.js';
import { build } from './lib/processes.js';
import { ADMIN_URL, versions } from './lib/services.js';

const SUITES = ['create', 'latency', 'lateness', 'audit', 'sealing'] as const;
type Suite = (typeof SUITES)[number];
const chosen = process.argv.slice(2).filter((a) => a !== '--');
for (const name of chosen) if (!SUITES.includes(name as Suite)) throw new Error(`unknown suite ${name}; one of ${SUITES.join(', ')}`);
const runs = (suite: Suite) => chosen.length === 0 || chosen.includes(suite);

console.log(`machine: ${machine()}; ${await versions(ADMIN_URL)}`);
await build();
console.log(`load average at start: ${loadAverage()}`);

const results: {
  bare?: Throughput;
  create?: Throughput & { rssPeak: number; rssIdle: number };
  latency?: DecisionLatency;
  lateness?: Lateness;
  sealing?: Sealing;
} = {};
if (runs('create')) {
  console.log('\n[create] POST /v1/requests against the bare baseline (50 connections)');
  results.bare = await baseline();
  results.create = await createRequests();
}
if (runs('latency')) {
  console.log('\n[latency] approve, then credentials, one at a time');
  results.latency = await approveAndCredentials();
}
if (runs('lateness')) {
  console.log('\n[lateness] 10,000 windows starting inside one minute');
  results.lateness = await activationLateness();
}
if (runs('audit')) {
  console.log('\n[audit] queries and export at scale');
  await auditAtScale();
}
if (runs('sealing')) {
  console.log('\n[sealing] sealing lag under the create load, then verify throughput');
  results.sealing = await sealing();
}

console.log('\nsummary (targets from issue 12)');
const verdict = (ok: boolean) => (ok ? 'meets' : 'MISSES');
if (results.bare !== undefined && results.create !== undefined) {
  const ratio = results.create.perSecond / results.bare.perSecond;
  const p99 = results.create.p99 / results.bare.p99;
  console.log(`  create throughput ${(ratio * 100).toFixed(0)} % of the baseline (target ≥ 40 %): ${verdict(ratio >= 0.4)}`);
  console.log(`  create p99 ${p99.toFixed(1)}× the baseline's (target ≤ 3×): ${verdict(p99 <= 3)}`);
  // Issue 15's memory targets, in decimal megabytes as stated there.
  const MB = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB (${MiB(bytes)})`;
  console.log(`  API RSS idle ${MB(results.create.rssIdle)} (target ≤ 150 MB): ${verdict(results.create.rssIdle <= 150e6)}`);
  console.log(`  API RSS peak under the create load ${MB(results.create.rssPeak)} (target ≤ 200 MB): ${verdict(results.create.rssPeak <= 200e6)}`);
}
if (results.latency !== undefined) {
  const sum = results.latency.approve.p99 + results.latency.credentials.p99;
  console.log(`  approve p99 + credentials p99 = ${ms(sum)} (target ≤ 25 ms): ${verdict(sum <= 25)}`);
}
if (results.lateness !== undefined) {
  console.log(`  activation lateness p99 ${ms(results.lateness.activation.p99)}, end lateness p99 ${ms(results.lateness.end.p99)}`);
}
if (results.sealing !== undefined) {
  const { lag, verifyPerSecond } = results.sealing;
  console.log(`  sealing lag p99 ${(lag.p99 / 1000).toFixed(2)} s under sustained creates (target ≤ 2 s): ${verdict(lag.p99 <= 2000)}`);
  console.log(`  verify ${Math.round(verifyPerSecond).toLocaleString('en-US')} events/s (target ≥ 200,000): ${verdict(verifyPerSecond >= 200_000)}`);
}
console.log(`load average at end: ${loadAverage()}`);
