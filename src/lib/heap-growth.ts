import { setFlagsFromString } from 'node:v8';

/**
 * How far (percent) the old generation may grow past what the last full GC kept before the next
 * full GC. V8's own choice on a machine with memory to spare is up to 4×: under the create load
 * the API's old space went from ~39 MB live to ~80 MB, nearly all of it dead promoted request
 * objects, before its first full GC, and that was most of the RSS peak (issue 15: ≤ 200 MB).
 * 30 % keeps the peak near 160 MB for the same CPU per request (bench/RESULTS.md, 2026-12-03). It
 * caps nothing, unlike --max-old-space-size: a heap that must grow (a large audit export) grows.
 */
export const HEAP_GROWING_PERCENT = 30;

// Set here, imported first by the process entries, because NODE_OPTIONS does not take this flag:
// so `npm start`, the container's `node dist/server.js` and the benchmark all run with it. V8 reads
// it at every full GC. A value given on the command line (`node --heap-growing-percent=…`) wins.
if (!process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent/.test(arg))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
