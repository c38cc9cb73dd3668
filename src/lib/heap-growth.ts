import { setFlagsFromString } from 'node:v8';
import { HEAP_GROWING_PERCENT } from './memory-flags.js';

// Imported first by the API's entry, so that every module loaded after it is already under this
// limit, and whatever started it (`npm start`, the container's CMD, the benchmark) gets it: V8
// reads the flag at every full GC. One given on the command line (`node --heap-growing-percent=…`)
// wins.
if (!process.execArgv.some((arg) => /^--heap[-_]growing[-_]percent/.test(arg))) {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
