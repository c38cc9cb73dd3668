// `npx tsx bench/cli-warm-start.ts [runs]`: how long a warm `brevet credential-process` takes next
// to a bare `node -e 0` (SPEC §10: target ≤ 2×). The AWS CLI and SDKs start it before every call.
//
// The warm path makes no network call, so no server is needed: the cache entry is written here,
// with the CLI's own cache code, for a made-up server and token, and the compiled CLI
// (packages/cli/dist, `npm run build`) reads it exactly as after a cold run. Runs alternate between
// the two commands so that a change in machine load affects both alike.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheFile, writeCache } from '../packages/cli/src/cache.js';
import { loadAverage, ms, summarise } from './lib/measure.js';

const runs = Number(process.argv[2] ?? 30);
const cliDir = fileURLToPath(new URL('../packages/cli', import.meta.url));
const bin = path.join(cliDir, 'bin', 'brevet.js');
execFileSync(process.execPath, ['build.mjs'], { cwd: cliDir, stdio: 'inherit' });

const home = mkdtempSync(path.join(tmpdir(), 'brevet-bench-'));
const connection = { url: 'http://127.0.0.1:3000', token: 'brv_bench_token_not_a_real_key' };
const env = { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'), XDG_CONFIG_HOME: path.join(home, 'config'), BREVET_URL: connection.url, BREVET_TOKEN: connection.token };
const dir = path.join(env.XDG_CACHE_HOME, 'brevet');
writeCache(dir, cacheFile(dir, connection, 'bench'), {
  requestId: 'req_bench',
  credentials: { Version: 1, AccessKeyId: 'ASIABENCH', SecretAccessKey: 'bench', SessionToken: 'bench', Expiration: new Date(Date.now() + 3_600_000).toISOString() },
});

function time(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

// The first run warms the OS file cache for both.
time(['-e', '0']);
const check = spawnSync(process.execPath, [bin, 'credential-process', '--profile', 'bench'], { env, encoding: 'utf8' });
if (!check.stdout.includes('"AccessKeyId":"ASIABENCH"')) throw new Error(`the warm path did not answer from the cache: ${check.stderr}`);

const bare: number[] = [];
const warm: number[] = [];
for (let i = 0; i < runs; i += 1) {
  bare.push(time(['-e', '0']));
  warm.push(time([bin, 'credential-process', '--profile', 'bench']));
}
rmSync(home, { recursive: true, force: true });

const b = summarise(bare);
const w = summarise(warm);
console.log(`cli warm start (${runs} runs each, load ${loadAverage()})`);
console.log(`  node -e 0                                   p50 ${ms(b.p50)}  p99 ${ms(b.p99)}`);
console.log(`  brevet credential-process (warm cache)      p50 ${ms(w.p50)}  p99 ${ms(w.p99)}`);
console.log(`  ratio (p50)                                 ${(w.p50 / b.p50).toFixed(2)}× (target ≤ 2×)`);
