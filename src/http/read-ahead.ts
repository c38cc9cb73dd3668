import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Started by the authentication hook beside the caller's lookup (see readAhead). */
    readAhead?: (request: FastifyRequest) => void;
  }
}

/** The same shape as IdParams: anything else is not an id and is not read. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Without a credential of the right shape the caller is refused without a database read: so is the read-ahead. */
const BEARER = /^Bearer +\S+ *$/i;

/**
 * Read-aheads in flight in this process, all routes together, at most: past it a call reads after
 * authentication, as without one. Callers with made-up keys can therefore never hold more than
 * these few of the pool's connections with reads nobody waits for; and under load, when the
 * pool is busy anyway, the calls stop asking it for two connections at once.
 */
const MAX_IN_FLIGHT = 4;
let inFlight = 0;

export interface ReadAhead<T> {
  /** Route config: `config: { readAhead: x.start }`. */
  start: (request: FastifyRequest) => void;
  /** The read started for this request, at most once; undefined when none was started. */
  take: (request: FastifyRequest) => Promise<T> | undefined;
}

/**
 * A route's first read of the record named by its `:id`, started while the caller is still
 * being authenticated, so that the two database round trips overlap instead of following each
 * other: on approve and credentials, one round trip less of the few each call waits on.
 *
 * Only a read that does not depend on who asks qualifies, and only one whose result is judged
 * afterwards under the known caller, and whose write lands only if the row is still the version
 * read (both routes write on that condition, so a read taken a moment earlier changes nothing).
 * A failed authentication never waits on it: an unknown caller sees nothing of it, not even its
 * timing. A read that fails is reported by the handler that takes it, not by the hook. A read
 * taken this early may be a moment old: the use cases act on it only through their conditional
 * writes, and refuse only on a fresh read.
 */
export function readAhead<T>(read: (id: string) => Promise<T>): ReadAhead<T> {
  const started = new WeakMap<FastifyRequest, Promise<T>>();
  return {
    start(request) {
      const id = (request.params as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string' || !ID.test(id) || !BEARER.test(request.headers.authorization ?? '') || inFlight >= MAX_IN_FLIGHT) return;
      inFlight += 1;
      const pending = read(id).finally(() => (inFlight -= 1));
      pending.catch(() => undefined); // Awaited by the handler, if authentication lets it run.
      started.set(request, pending);
    },
    take(request) {
      const pending = started.get(request);
      started.delete(request);
      return pending;
    },
  };
}
