import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Variables of the machine or of other tests that would change what the server does. */
const OWN_VARIABLES = /^(PORT|HOST|LOG_LEVEL|DATABASE_URL|REDIS_URL|BREVET_.*|OIDC_.*|SLACK_.*|AWS_.*)$/;

export interface ServerProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** The exit code (or signal) when the process has ended, else undefined. */
  exitCode(): number | string | undefined;
  /** Resolves with the first match of `pattern` on stdout, or rejects at the deadline or if the process ends first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | string>;
}

/** How a test starts Brevet: what `npm start` runs, the real `npm start` (npm as the parent), or the worker. */
export type Entry = 'start' | 'npm-start' | 'worker';

const COMMANDS: Record<Entry, string[]> = {
  // The same file `npm start` runs: dist/ with DATABASE_URL (production), the sources through tsx without.
  start: [process.execPath, 'scripts/start.js'],
  'npm-start': ['npm', 'start', '--silent'],
  worker: [process.execPath, 'dist/worker.js'],
};

/**
 * Brevet as a child process with only the given Brevet variables. `detached` puts it in a process
 * group of its own, so a test can signal the whole group as a terminal or a container runtime does.
 */
export function spawnServer(env: Record<string, string>, entry: Entry = 'start', options: { detached?: boolean } = {}): ServerProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !OWN_VARIABLES.test(name)));
  const [command, ...args] = COMMANDS[entry];
  const child = spawn(command!, args, {
    cwd: repoRoot,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let ended: number | string | undefined;
  void exited.then((code) => (ended = code));

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    exitCode: () => ended,
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      until(() => {
        const match = pattern.exec(out);
        if (match !== null) return match;
        if (ended !== undefined) throw new Error(`the server exited before printing ${pattern}:\n${out}\n${err}`);
        return undefined;
      }, timeoutMs, `${pattern} on stdout`),
    async stop() {
      if (ended === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `probe` every 50 ms until it returns a value, failing at the deadline with what it waited for. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port nobody listens on right now: bind port 0, read what the kernel chose, release it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
