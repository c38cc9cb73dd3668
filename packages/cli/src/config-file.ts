import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StoredConfig } from './settings.js';

/** Writes the login config with mode 0600 (it holds a token) in a directory only its owner reads. */
export function writeStoredConfig(path: string, config: StoredConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // An existing file keeps its old mode through writeFileSync; the rename replaces it whole.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
