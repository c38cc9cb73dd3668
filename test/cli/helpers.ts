// Runs the compiled `brevet` as a real child process, with a home of its own: config, cache and
// ~/.aws/config live in a temporary directory per test file.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BREVET_BIN = fileURLToPath(new URL('../../packages/cli/bin/brevet.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When the process ended (Date.now()). */
  endedAt: number;
}

export interface CliHome {
  dir: string;
  env: Record<string, string>;
  remove(): Promise<void>;
}

/** A home directory for the CLI: HOME, XDG dirs and AWS_CONFIG_FILE all inside it. */
export async function cliHome(): Promise<CliHome> {
  const dir = await mkdtemp(path.join(tmpdir(), 'brevet-cli-'));
  return {
    dir,
    env: {
      HOME: dir,
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_CACHE_HOME: path.join(dir, 'cache'),
      AWS_CONFIG_FILE: path.join(dir, 'aws', 'config'),
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Variables of the machine that would change what the CLI does. */
const OWN = /^(BREVET_.*|XDG_.*|AWS_.*|HOME)$/;

/** The CLI as a child process, its stdout and stderr piped to the test. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcessByStdio<null, Readable, Readable> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !OWN.test(name)));
  return spawn(process.execPath, [BREVET_BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, endedAt: Date.now() }));
  });
}
