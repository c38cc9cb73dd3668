// Where the CLI keeps its state. Imported by the warm path of credential-process too: keep it to
// node: built-ins, and cheap.
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Record<string, string | undefined>;

const set = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** `$BREVET_CONFIG`, else `$XDG_CONFIG_HOME/brevet/config.json`, else `~/.config/brevet/config.json`. */
export function configPath(env: Env = process.env): string {
  return set(env['BREVET_CONFIG']) ?? join(set(env['XDG_CONFIG_HOME']) ?? join(homedir(), '.config'), 'brevet', 'config.json');
}

/** `$XDG_CACHE_HOME/brevet`, else `~/.cache/brevet`. */
export function cacheDir(env: Env = process.env): string {
  return join(set(env['XDG_CACHE_HOME']) ?? join(homedir(), '.cache'), 'brevet');
}

export interface Connection {
  url: string;
  token: string;
}

export interface StoredConfig {
  url?: string;
  token?: string;
}

/**
 * The server and token to use: BREVET_URL and BREVET_TOKEN win; the config file written by
 * `brevet login` fills in the rest. Its token goes only to its own server: with BREVET_URL naming
 * another one and no BREVET_TOKEN, there is no token (a saved key is never sent to whatever server
 * the environment names). Undefined when either is missing.
 */
export function resolveConnection(stored: StoredConfig | undefined, env: Env = process.env): Connection | undefined {
  const normal = (url: string) => url.replace(/\/+$/, '');
  const url = set(env['BREVET_URL']) ?? stored?.url;
  if (url === undefined) return undefined;
  const storedTokenFits = stored?.url !== undefined && normal(stored.url) === normal(url);
  const token = set(env['BREVET_TOKEN']) ?? (storedTokenFits ? stored?.token : undefined);
  if (token === undefined) return undefined;
  return { url: normal(url), token };
}
