import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DemoSeed } from './demo.js';

/**
 * What dev mode prints for a person at a terminal (SPEC §10.2): never to the structured log, since
 * it may carry keys. Pure text builders; server.ts writes them to stdout.
 */

/** The URL to paste: a wildcard listen address is reached on loopback. */
export function publicBaseUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

export interface ReadyText {
  url: string;
  /** The admin key created on this start (shown once), if any. */
  generatedKey: string | undefined;
  /** BREVET_BOOTSTRAP_ADMIN_KEY installed the admin: name the variable, never echo the secret. */
  givenKeyInstalled: boolean;
  demo: DemoSeed | undefined;
}

export function readyText(ready: ReadyText): string {
  const lines = ['', `Brevet (dev mode) is listening on ${ready.url}`, `  API docs (Swagger UI): ${ready.url}/docs`];
  if (ready.generatedKey !== undefined) {
    lines.push('', 'Admin API key (shown once, store it now). Paste this to use it:', '', `  export BREVET_URL=${ready.url} BREVET_TOKEN=${ready.generatedKey}`);
  } else if (ready.givenKeyInstalled) {
    lines.push('', 'Admin: the key in BREVET_BOOTSTRAP_ADMIN_KEY. Paste this to use it:', '', `  export BREVET_URL=${ready.url} BREVET_TOKEN="$BREVET_BOOTSTRAP_ADMIN_KEY"`);
  } else {
    lines.push(`  export BREVET_URL=${ready.url}   (the admin key was shown on the first start)`);
  }
  if (ready.demo !== undefined) lines.push('', ...demoLines(ready.url, ready.demo));
  lines.push('', 'Then: npx brevet whoami   (npx brevet --help lists the commands)', '');
  return `${lines.join('\n')}\n`;
}

function demoLines(url: string, demo: DemoSeed): string[] {
  if (demo.keys.length === 0) {
    return ['Demo: alice@example.com (dev), bob@example.com (sre) and the profile "demo" exist; their keys were shown on the first start with --demo.'];
  }
  const names = demo.keys.map((person) => `${person.name.toUpperCase()}_TOKEN=${person.key}`).join(' ');
  return [
    'Demo: alice@example.com (group dev) may ask for the profile "demo"; bob@example.com (group sre) approves.',
    'Their API keys (shown once). Paste this to try the flow (README, "Try it"):',
    '',
    `  export BREVET_URL=${url} ${names}`,
  ];
}

/**
 * The progress line of a dev-mode start: creating (first start, PGlite's WASM start plus every
 * migration) or opening the embedded database, then how long it took.
 */
export function embeddedDatabaseProgress(dataDir: string, write: (text: string) => void): { done(): void } {
  const where = path.join(dataDir, 'pgdata');
  const started = Date.now();
  write(
    existsSync(path.join(where, 'PG_VERSION'))
      ? `Opening the embedded database in ${where}…\n`
      : `Creating the embedded database in ${where} and applying migrations (first start: this takes a few seconds)…\n`,
  );
  return { done: () => write(`database ready (${((Date.now() - started) / 1000).toFixed(1)} s)\n`) };
}
