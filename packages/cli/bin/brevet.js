#!/usr/bin/env node
// The `brevet` executable: loads the compiled CLI from dist/ (built by `npm run build`, and by
// `prepare` on `npm ci`). `credential-process` starts from a small entry of its own: the AWS CLI
// and SDKs run it before every call, and its warm path only reads a cache file.
const entry = process.argv[2] === 'credential-process' ? '../dist/warm.js' : '../dist/main.js';
import(new URL(entry, import.meta.url).href).catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('/dist/')) {
    process.stderr.write('brevet: the CLI is not built: run `npm run build` (or `npm ci`) in the Brevet checkout\n');
  } else {
    process.stderr.write(`brevet: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
