// `npm start`. Production (DATABASE_URL set) runs the compiled build from `npm run build` in this
// very process: npm starts `node` directly, so SIGTERM reaches Brevet and no loader sits in the
// way. Dev mode runs the TypeScript sources through tsx's loader, so trying Brevet needs no build
// step and never runs a stale one.
import { existsSync } from 'node:fs';

const production = (process.env.DATABASE_URL ?? '').trim() !== '';
const compiled = new URL('../dist/server.js', import.meta.url);

if (production) {
  if (!existsSync(compiled)) {
    process.stderr.write('brevet: dist/server.js is missing: run `npm run build` first (production runs the compiled code)\n');
    process.exit(1);
  }
  await import(compiled.href);
} else {
  await import('tsx');
  await import(new URL('../src/server.ts', import.meta.url).href);
}
