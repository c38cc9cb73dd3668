import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const buildInfo = path.join(repoRoot, 'dist', '.tsbuildinfo');

/**
 * Vitest global setup: tests that start Brevet as production does (`npm start` with DATABASE_URL,
 * the worker) run the compiled code in dist/, so it is rebuilt first whenever a source is newer.
 * The check costs milliseconds; a rebuild is incremental.
 */
export default function buildOnce(): void {
  if (existsSync(buildInfo) && statSync(buildInfo).mtimeMs >= newestSource()) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
  // tsc leaves its build info untouched when nothing changed; the next check must still see it as fresh.
  const now = new Date();
  utimesSync(buildInfo, now, now);
}

function newestSource(): number {
  const files = [path.join(repoRoot, 'tsconfig.json'), path.join(repoRoot, 'tsconfig.build.json')];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(path.join(repoRoot, 'src'));
  return Math.max(...files.map((file) => statSync(file).mtimeMs));
}
