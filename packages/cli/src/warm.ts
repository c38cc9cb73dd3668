// Entry of `brevet credential-process`. The AWS CLI and SDKs run it before every call, so the warm
// path reads the config and one cache file and prints: no network, no other module loaded.
// Anything else (a miss, an option it does not know) goes to the full command.
import { readFileSync } from 'node:fs';
import { cacheFile, readCache } from './cache.js';
import { cacheDir, configPath, resolveConnection, type StoredConfig } from './settings.js';

function warmCredentials(argv: string[]): string | undefined {
  const at = argv.indexOf('--profile');
  const profile = at >= 0 && argv.length === 3 && at === 1 ? argv[2] : argv.length === 2 && argv[1]?.startsWith('--profile=') ? argv[1].slice(10) : undefined;
  if (profile === undefined || profile === '') return undefined;
  let stored: StoredConfig | undefined;
  try {
    stored = JSON.parse(readFileSync(configPath(), 'utf8')) as StoredConfig;
  } catch {
    stored = undefined;
  }
  const connection = resolveConnection(stored);
  if (connection === undefined) return undefined;
  const entry = readCache(cacheFile(cacheDir(), connection, profile), Date.now());
  return entry === undefined ? undefined : JSON.stringify(entry.credentials);
}

const args = process.argv.slice(2);
const warm = warmCredentials(args);
if (warm !== undefined) {
  process.stdout.write(`${warm}\n`);
} else {
  await import('./main.js');
}
