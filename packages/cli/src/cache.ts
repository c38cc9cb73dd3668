// The credential cache of `brevet credential-process` (SPEC §10): one file per server, principal
// (the token that identifies it) and profile, under a 0700 directory, each file 0600, written
// atomically. Used by the warm path: node: built-ins only.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from './settings.js';

/** The AWS credential_process document, exactly as the API answers it. */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

export interface CacheEntry {
  requestId: string;
  credentials: ProcessCredentials;
}

/** Credentials are re-used until this long before their Expiration, as the AWS SDKs refresh. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/** The file name hashes the token, so the cache never holds it in clear. */
export function cacheFile(dir: string, connection: Connection, profile: string): string {
  const key = createHash('sha256').update(`${connection.url}\n${connection.token}\n${profile}`).digest('hex');
  return join(dir, `${key.slice(0, 40)}.json`);
}

/** The cached entry while it is still usable at `now`, else undefined (missing, unreadable or expiring). */
export function readCache(file: string, now: number): CacheEntry | undefined {
  let entry: CacheEntry;
  try {
    entry = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
  } catch {
    return undefined;
  }
  const expires = Date.parse(entry?.credentials?.Expiration ?? '');
  if (!Number.isFinite(expires) || expires - now <= REFRESH_BEFORE_MS) return undefined;
  return entry;
}

export function writeCache(dir: string, file: string, entry: CacheEntry): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // Written beside the target then renamed: a concurrent reader sees the old file or the new one.
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, JSON.stringify(entry), { mode: 0o600 });
  renameSync(temporary, file);
}
