import type { Logger } from 'pino';

/**
 * How long in-flight requests and running jobs get to finish after SIGTERM before their
 * connections are cut or their jobs left to BullMQ's stall recovery. Container runtimes kill
 * after 10 s by default (`docker stop`), so everything closes inside that.
 */
export const SHUTDOWN_GRACE_MS = 7_000;
/** Past this the process exits 1 even if a pool refuses to close, so a stop never hangs. */
export const SHUTDOWN_DEADLINE_MS = 9_000;

/**
 * Runs `stop` once on the first SIGTERM or SIGINT (a second signal, e.g. from both npm and its
 * process group, is ignored), then exits 0; exits 1 if `stop` fails or outlasts the deadline.
 * Exiting explicitly makes "nothing left running" hold even if a library leaks a timer.
 */
export function exitOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'shutting down: finishing in-flight work');
    setTimeout(() => {
      logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time: exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Resolves with `work`'s outcome, or calls `onLate` once `graceMs` passes first and keeps waiting. */
export async function withGrace<T>(work: Promise<T>, graceMs: number, onLate: () => void): Promise<T> {
  const timer = setTimeout(onLate, graceMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}
