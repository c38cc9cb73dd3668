// The README's "Try it" tour, run as written: the lines between <!-- tour:start --> and
// <!-- tour:end --> are read from README.md and run in order by bash, against `npm start` in dev
// mode with BREVET_DEMO=1 (what `npm start -- --demo` sets), its STS calls going to the local
// stand-in as they would to LocalStack. The one line a reader pastes from the server's output
// (the `export … ALICE_TOKEN=… BOB_TOKEN=…` line) is taken from that output.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startAwsStandIn, type AwsStandIn } from './support/aws-stand-in.js';
import { freePort, spawnServer, type ServerProcess } from './support/server-process.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The tour's lines, as the README has them. */
export async function tourLines(): Promise<string[]> {
  const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
  const block = /<!-- tour:start -->\n```sh\n([\s\S]*?)```\n<!-- tour:end -->/.exec(readme);
  if (block === null) throw new Error('README.md has no tour block');
  return block[1]!.trimEnd().split('\n');
}

const DEMO_EXPORT = /^ {2}(export BREVET_URL=\S+ ALICE_TOKEN=brv_\S+ BOB_TOKEN=brv_\S+)$/m;
const AWS_ENV = (aws: AwsStandIn) => ({
  AWS_ENDPOINT_URL: aws.url,
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDSTANDIN',
  AWS_SECRET_ACCESS_KEY: 'standin-secret',
});

async function startDev(dataDir: string, aws: AwsStandIn): Promise<{ server: ServerProcess; port: number }> {
  const port = await freePort();
  // No HOST: dev mode must choose 127.0.0.1 itself.
  const server = spawnServer({ PORT: String(port), BREVET_DATA_DIR: dataDir, BREVET_DEMO: '1', ...AWS_ENV(aws) });
  cleanups.push(() => server.stop());
  await server.waitForOutput(/npx brevet whoami/, 90_000);
  return { server, port };
}

describe('README tour', () => {
  it('runs as written on dev mode with the demo, and a second start creates nothing twice', { timeout: 240_000 }, async () => {
    const aws = await startAwsStandIn();
    cleanups.push(() => aws.close());
    const home = await mkdtemp(path.join(tmpdir(), 'brevet-tour-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const dataDir = path.join(home, 'data');

    const { server, port } = await startDev(dataDir, aws);
    const printed = server.stdout();
    expect(printed).toMatch(/Creating the embedded database .* and applying migrations/);
    expect(printed).toMatch(/database ready/);
    expect(printed).toContain(`Brevet (dev mode) is listening on http://127.0.0.1:${port}`);
    expect(printed).toContain(`http://127.0.0.1:${port}/docs`);
    expect(printed).toMatch(new RegExp(`^  export BREVET_URL=http://127\\.0\\.0\\.1:${port} BREVET_TOKEN=brv_[A-Za-z0-9_-]{43}$`, 'm'));
    const demoLine = DEMO_EXPORT.exec(printed)?.[1];
    expect(demoLine).toBeDefined();

    const lines = await tourLines();
    expect(lines[0]).toMatch(/^export BREVET_URL=\S+ ALICE_TOKEN=brv_… BOB_TOKEN=brv_…/);
    const awsInstalled = spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).status === 0;
    const script = [
      'set -euo pipefail',
      demoLine!,
      // Without the AWS CLI on this machine, its line is checked below through the AWS SDK instead.
      ...lines.slice(1).filter((line) => awsInstalled || !line.startsWith('aws ')),
    ].join('\n');
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(BREVET_.*|XDG_.*|AWS_.*|HOME)$/.test(name)));
    const env = { ...base, HOME: home, ...AWS_ENV(aws), AWS_CONFIG_FILE: path.join(home, '.aws', 'config') };
    const tour = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(tour.code, `${tour.stdout}\n${tour.stderr}`).toBe(0);
    expect(tour.stdout).toMatch(/^req_\S+ +active +demo +1800s/m);

    const awsConfig = await readFile(path.join(home, '.aws', 'config'), 'utf8');
    expect(awsConfig).toMatch(/^\[profile brevet-demo\]\ncredential_process = \S+\/bin\/brevet\.js credential-process --profile demo\n$/);
    if (awsInstalled) {
      expect(tour.stdout).toMatch(/assumed-role\/brevet-demo\/brevet-req_/);
    } else {
      const { fromProcess } = await import('@aws-sdk/credential-provider-process');
      for (const name of ['XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'BREVET_TOKEN', 'BREVET_CONFIG']) delete process.env[name];
      Object.assign(process.env, { HOME: home, AWS_CONFIG_FILE: env.AWS_CONFIG_FILE, BREVET_URL: `http://127.0.0.1:${port}` });
      const credentials = await fromProcess({ profile: 'brevet-demo', ignoreCache: true })();
      expect(credentials.accessKeyId).toMatch(/^ASIA/);
    }
    expect(aws.assumeRoleCalls.at(-1)?.roleArn).toBe('arn:aws:iam::000000000000:role/brevet-demo');

    // A second start with the flag: the demo exists, nothing is created or printed again.
    await server.stop();
    const again = await startDev(dataDir, aws);
    const second = again.server.stdout();
    expect(second).not.toMatch(DEMO_EXPORT);
    expect(second).not.toMatch(/BREVET_TOKEN=brv_/);
    expect(second).toContain('their keys were shown on the first start');
    expect(second).toMatch(/Opening the embedded database/);
  });
});
