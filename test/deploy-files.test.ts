import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_NODE_FLAGS } from '../src/lib/memory-flags.js';

// What the container and compose files promise (issue 15), read from the files themselves:
// docker is not always at hand (CI validates with `docker compose config` when it is).

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Every environment variable Brevet reads: the names in config.ts, and direct process.env reads anywhere in src/. */
function variablesRead(): string[] {
  const names = new Set<string>();
  for (const match of read('src/config.ts').matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)) names.add(match[1]!);
  for (const file of sourceFiles(path.join(root, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])/g)) {
      names.add((match[1] ?? match[2])!);
    }
  }
  return [...names].sort();
}

describe('.env.example', () => {
  const documented = new Set([...read('.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]!));

  it('names every variable the configuration reads', () => {
    const read = variablesRead();
    expect(read.length).toBeGreaterThan(20);
    expect(read.filter((name) => !documented.has(name)), 'add these to .env.example').toEqual([]);
  });

  it('names every variable docker-compose.yml interpolates', () => {
    const interpolated = [...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]+)/g)].map((match) => match[1]!);
    expect(interpolated.length).toBeGreaterThan(0);
    expect(interpolated.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('is the template; .env itself is git-ignored and kept out of the image', () => {
    expect(read('.gitignore').split('\n')).toContain('.env');
    expect(read('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['.env', '.env.*', 'node_modules', 'dist', '.git']));
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, { init?: boolean; restart?: string; env_file?: { path: string }[]; command?: string[]; environment?: Record<string, string> }>;
  };

  it('runs the API and the worker under an init, restarted, with .env passed through and no secret written in', () => {
    for (const name of ['api', 'worker']) {
      const service = compose.services[name]!;
      expect(service.init, name).toBe(true);
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.env_file?.map((file) => file.path), name).toEqual(['.env']);
      expect(JSON.stringify(service.environment)).not.toMatch(/:brevet@|KEY=|SECRET=/);
    }
    expect(compose.services['worker']!.command).toEqual(['node', 'dist/worker.js']);
    for (const name of ['postgres', 'redis']) expect(compose.services[name]!.restart, name).toBe('unless-stopped');
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('builds in one stage and runs the compiled code as node, non-root, with production dependencies only', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^RUN npx tsc -p tsconfig\.build\.json$/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    // node itself receives SIGTERM: no npm and no shell form between the runtime and Brevet; with
    // the API's node flags, as `npm start` and the benchmark give them.
    expect(JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!)).toEqual(['node', ...API_NODE_FLAGS, 'dist/server.js']);
  });
});

describe('npm start', () => {
  it('runs node with the API\'s node flags, as the container does', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start']).toBe(`exec node ${API_NODE_FLAGS.join(' ')} scripts/start.js`);
  });
});
