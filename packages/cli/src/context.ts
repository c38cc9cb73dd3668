import { readFileSync } from 'node:fs';
import { connect, type Api } from './client.js';
import { notLoggedIn } from './errors.js';
import { configPath, resolveConnection, type Connection, type StoredConfig } from './settings.js';

/** What every command gets: the streams, the environment, and the server it talks to. */
export interface Context {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** The configured server and token; exit 5 when there are none. */
  connection(): Connection;
  api(): Api;
  /** Machine output: one JSON document on stdout (SPEC §10). */
  json(value: unknown): void;
  /** Human output on stdout. */
  out(line: string): void;
  /** Messages and progress, on stderr. */
  say(line: string): void;
}

export function readStoredConfig(env: NodeJS.ProcessEnv): StoredConfig | undefined {
  try {
    return JSON.parse(readFileSync(configPath(env), 'utf8')) as StoredConfig;
  } catch {
    return undefined;
  }
}

export function createContext(env: NodeJS.ProcessEnv = process.env): Context {
  let api: Api | undefined;
  const connection = () => resolveConnection(readStoredConfig(env), env) ?? throwNotLoggedIn();
  return {
    env,
    stdout: process.stdout,
    stderr: process.stderr,
    connection,
    api: () => (api ??= connect(connection())),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    out: (line) => process.stdout.write(`${line}\n`),
    say: (line) => process.stderr.write(`${line}\n`),
  };
}

function throwNotLoggedIn(): never {
  throw notLoggedIn();
}
