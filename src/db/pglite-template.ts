import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

/**
 * A freshly initialised PGlite cluster, made once by `npm run dev:template` and committed under
 * dev/. PGlite's initdb is most of a first dev-mode start (10 s or more on 2 cores); loading this
 * archive instead takes about a second. It is nothing but initdb's output for the PGlite version in
 * its name (no Brevet tables, no data, no secret): migrations still run on it as on any database,
 * and another PGlite version simply initialises as before.
 */
export const TEMPLATE_DIR = fileURLToPath(new URL('../../dev', import.meta.url));

export function installedPgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = path.dirname(entry);
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

export function templatePath(version = installedPgliteVersion()): string {
  return path.join(TEMPLATE_DIR, `pglite-${version}.tar.br`);
}

/** The template for the installed PGlite as PGlite's `loadDataDir` takes it, or undefined when there is none. */
export function loadPgliteTemplate(): Blob | undefined {
  const file = templatePath();
  if (!existsSync(file)) return undefined;
  return new Blob([brotliDecompressSync(readFileSync(file))]);
}
