// V8 memory settings of the API process, against issue 15's targets (RSS ≤ 150 MB idle, ≤ 200 MB
// under the create load); the measurements behind them are in bench/RESULTS.md (2026-12-03, RSS of the API).

/**
 * How far (percent) the old generation may grow past what the last full GC kept before the next
 * full GC. V8's own choice on a machine with memory to spare is up to 4×: under the create load
 * the API's old space went from ~39 MB live to ~90 MB, nearly all of it dead promoted request
 * objects, before a full GC, and that was most of the RSS peak. It caps nothing, unlike
 * --max-old-space-size: a heap that must grow (a large audit export) grows. Set by the process
 * itself (src/lib/heap-growth.ts), as NODE_OPTIONS does not take it.
 */
export const HEAP_GROWING_PERCENT = 30;

/**
 * Node flags every start of the API gives on its command line (package.json `start`, the
 * Dockerfile's CMD, the benchmark; test/deploy-files.test.ts keeps them equal), because V8 reads
 * them once, when it creates the heap. A semi-space of 8 MB instead of 16: the young generation
 * the API fills at start-up and then keeps resident is half as large (about 14 MB less RSS, idle
 * and under load) for ~2 % more CPU per create.
 */
export const API_NODE_FLAGS = ['--max-semi-space-size=8'] as const;
