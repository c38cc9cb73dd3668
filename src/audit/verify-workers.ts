// The worker threads that verify parts of a trail (verify-worker.ts), started at the first
// verification that needs one and kept warm while verifications come: a thread started cold for
// each verification runs unoptimised code over its whole part and was slower than none (commit
// 0316510). None is started at boot, and one idle for IDLE_MS ends, so an idle API keeps its memory.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { TrailReport } from './proof.js';
import type { PartAnswer, PartWork } from './verify-worker.js';

const IDLE_MS = 60_000;

/**
 * A worker's young generation (V8 makes it three semi-spaces: 32 MB each). A verification
 * allocates a few KB per event, all of it short-lived: with the API's 8 MB semi-spaces
 * (memory-flags.ts) a thread spent ~6 µs of CPU an event, with 32 MB ~4 µs (bench/RESULTS.md,
 * 2026-12-03 evening). It is memory only while verifications come: a worker ends after IDLE_MS.
 */
const WORKER_YOUNG_GENERATION_MB = 96;

interface Warm {
  worker: Worker;
  idleTimer?: NodeJS.Timeout;
}

/** Workers waiting for a part; a verification takes one, or starts one when none waits. */
const idle: Warm[] = [];

/** One part verified in a worker thread: its report, or an error when the worker could not verify it. */
export async function verifyInWorker(work: PartWork): Promise<TrailReport> {
  const warm = idle.pop() ?? { worker: startWorker() };
  clearTimeout(warm.idleTimer);
  warm.worker.ref();
  let answer: PartAnswer;
  try {
    answer = await answerOf(warm.worker, work);
  } catch (error) {
    // A worker that failed is not reused.
    void warm.worker.terminate();
    throw error;
  }
  // An idle worker does not keep the process alive, and ends after IDLE_MS.
  warm.worker.unref();
  warm.idleTimer = setTimeout(() => {
    idle.splice(idle.indexOf(warm), 1);
    void warm.worker.terminate();
  }, IDLE_MS).unref();
  idle.push(warm);
  if ('error' in answer) throw new Error(`verifying audit events ${work.part.blocks[0]!.firstEventId}–: ${answer.error}`);
  return answer.report;
}

function answerOf(worker: Worker, work: PartWork): Promise<PartAnswer> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    };
    const onMessage = (answer: PartAnswer) => {
      settle();
      resolve(answer);
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onExit = (code: number) => {
      settle();
      reject(new Error(`the audit verification worker exited (${code})`));
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage(work);
  });
}

function startWorker(): Worker {
  // --max-semi-space-size, given to the API on its command line, is process-wide: every isolate
  // reads it when created, and it overrides a Worker's resourceLimits. The API's own isolate read it
  // at start; unset now (0 is V8's "not given"), it leaves this thread's young generation to its limits.
  setFlagsFromString('--max-semi-space-size=0');
  const fromSource = import.meta.url.endsWith('.ts');
  return new Worker(fromSource ? sourceWorker() : new URL('./verify-worker.js', import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
}

/**
 * Run from the TypeScript sources (the tests), the worker thread loads verify-worker.ts through
 * tsx's API (a worker thread does not inherit the loader the tests run under).
 */
function sourceWorker(): URL {
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json')));
  const entry = new URL('./verify-worker.ts', import.meta.url);
  const code = `import { tsImport } from ${JSON.stringify(tsx.href)}; await tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
