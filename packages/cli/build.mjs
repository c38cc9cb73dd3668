// Compiles the CLI to plain JavaScript in dist/ (run by `npm run build` and by `prepare` on
// `npm ci`): one bundle per entry, so starting `brevet` reads a few files instead of resolving
// node_modules, and the warm path of `credential-process` loads only what it needs.
import { build } from 'esbuild';

await build({
  entryPoints: { main: 'src/main.ts', warm: 'src/warm.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: false,
  logLevel: 'warning',
  absWorkingDir: new URL('.', import.meta.url).pathname,
});
