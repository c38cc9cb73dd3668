// Issue 15, logs: dev mode at a terminal reads pino-pretty's lines (a transport); anything else —
// production, a pipe, a container without a TTY — one JSON object per line. The piped case is
// asserted on every dev-mode start in dev-mode.test.ts; the terminal case here, under a real
// pseudo-terminal (util-linux `script`), as a person running `npm start` sees it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logFormat } from '../src/logging.js';
import { freePort, until } from './support/server-process.js';

describe('the log format a process chooses', () => {
  it.each([
    [{ devMode: true, stdoutIsTTY: true, prettyInstalled: true }, 'pretty'],
    // Piped, redirected to a file, or a container without -t: machines read it.
    [{ devMode: true, stdoutIsTTY: false, prettyInstalled: true }, 'json'],
    // Production is JSON even at a terminal: operators grep and ship it.
    [{ devMode: false, stdoutIsTTY: true, prettyInstalled: true }, 'json'],
    // An install without devDependencies (the image) still starts, and logs JSON.
    [{ devMode: true, stdoutIsTTY: true, prettyInstalled: false }, 'json'],
  ] as const)('%o → %s', (facts, format) => {
    expect(logFormat(facts)).toBe(format);
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;
const groups: number[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const cleanup of cleanups) await cleanup();
});

describe.skipIf(!hasScript)('npm start in dev mode at a terminal', () => {
  it('logs pretty lines, never JSON', { timeout: 90_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'brevet-tty-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|REDIS_URL|BREVET_.*|LOG_LEVEL)$/.test(name)));
    // `script` gives the server a pseudo-terminal as stdout, as a shell would.
    const child = spawn('script', ['-qfec', `${process.execPath} scripts/start.js`, '/dev/null'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...env, BREVET_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    groups.push(child.pid!);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await until(() => (/INFO.*Server listening at/.test(out) ? true : undefined), 80_000, 'the pretty "Server listening" line');

    expect(out).toMatch(/\[\d{2}:\d{2}:\d{2}\.\d{3}\] .*WARN.*: .*DEV MODE/);
    expect(out).not.toMatch(/\{"level":/);
    process.kill(-child.pid!, 'SIGTERM');
  });
});
