import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { getRequest } from './read-requests.js';
import type { RequestStatusChanges } from './status-changes.js';
import type { RequestApiView } from './view.js';

/**
 * A notification can be lost when the listening connection drops between two reconnects; waiters
 * re-read this often anyway, so such a loss delays an answer, never withholds it.
 */
const RECHECK_MS = 5_000;

export interface StatusWait {
  waitSeconds: number;
  /** The status the caller last saw: the answer comes once the request is no longer in it. */
  status: string;
  /** Aborted when the client goes away or the server shuts down: answer with what is there now. */
  signal: AbortSignal;
}

/**
 * The long-poll of SPEC §10.1: the request at once when its status is not `status`, else as soon
 * as a committed change moves it (in any process), else after `waitSeconds` unchanged. Every read
 * applies the visibility rules of the plain GET. The wait runs on real time, not on the injected
 * clock: it is how long a connection is held, not a business rule.
 */
export async function waitForStatusChange(
  deps: { db: Db; clock: Clock; requestStatusChanges: RequestStatusChanges },
  caller: Caller,
  requestId: string,
  wait: StatusWait,
): Promise<RequestApiView> {
  const first = await getRequest(deps, caller, requestId);
  if (first.status !== wait.status || wait.waitSeconds === 0 || wait.signal.aborted) return first;

  const deadline = Date.now() + wait.waitSeconds * 1000;
  let changed = false;
  let wake: (() => void) | undefined;
  const onChange = () => {
    changed = true;
    wake?.();
  };
  // Watch first, then read: a change committed between the first read and LISTEN taking effect is
  // seen by the read below, and any change after it wakes the loop.
  const stop = await deps.requestStatusChanges.watch(requestId, onChange);
  wait.signal.addEventListener('abort', onChange);
  try {
    for (;;) {
      changed = false;
      const current = await getRequest(deps, caller, requestId);
      const left = deadline - Date.now();
      if (current.status !== wait.status || left <= 0 || wait.signal.aborted) return current;
      if (changed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, RECHECK_MS));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    wait.signal.removeEventListener('abort', onChange);
    stop();
  }
}
