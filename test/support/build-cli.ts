import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cliDir = fileURLToPath(new URL('../../packages/cli', import.meta.url));

/**
 * Vitest global setup: the CLI tests run the compiled `brevet` (packages/cli/dist) as a child
 * process, so it is compiled once before any test file starts. esbuild takes well under a second.
 */
export default function buildCli(): void {
  execFileSync(process.execPath, ['build.mjs'], { cwd: cliDir, stdio: 'inherit' });
}
