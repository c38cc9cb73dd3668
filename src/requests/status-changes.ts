import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { ChannelListener } from '../db/listener.js';

/** The PostgreSQL channel on which a committed status change of a request is announced (payload: its id). */
export const REQUEST_STATUS_CHANNEL = 'brevet_request_status';

/**
 * Announces a status change of the request whose id `requestId` evaluates to: a column expression
 * for the RETURNING of the UPDATE that makes the change (one round trip for both), so it runs in
 * the transaction that makes the change. NOTIFY is delivered on commit only, so every API process
 * hears of it exactly when the new status can be read, whichever process (API or worker) made it.
 */
export function statusChangeAnnouncement(requestId: SQLWrapper): SQL<string> {
  return sql<string>`pg_notify(${REQUEST_STATUS_CHANNEL}, ${requestId})`;
}

/** statusChangeAnnouncement as SQL text, for statements written once: `requestId` is an SQL expression. */
export function statusChangeAnnouncementSql(requestId: string): string {
  return `pg_notify('${REQUEST_STATUS_CHANNEL}', ${requestId})`;
}

/** Wakes long-polls (SPEC §10.1) when a request they watch changes status in any process. */
export interface RequestStatusChanges {
  /**
   * Calls `onChange` after every committed status change of `requestId` (and after a lost
   * listening connection comes back, when changes may have been missed). Resolves once listening,
   * with the function that stops it.
   */
  watch(requestId: string, onChange: () => void): Promise<() => void>;
  close(): Promise<void>;
}

/** One LISTEN connection per process, shared by every waiting long-poll. */
export function createRequestStatusChanges(listener: ChannelListener): RequestStatusChanges {
  const watchers = new Map<string, Set<() => void>>();
  const wake = (requestId: string) => watchers.get(requestId)?.forEach((onChange) => onChange());
  const wakeAll = () => watchers.forEach((set) => set.forEach((onChange) => onChange()));
  return {
    async watch(requestId, onChange) {
      let set = watchers.get(requestId);
      if (set === undefined) watchers.set(requestId, (set = new Set()));
      set.add(onChange);
      const stop = () => {
        set.delete(onChange);
        if (set.size === 0 && watchers.get(requestId) === set) watchers.delete(requestId);
      };
      try {
        await listener.start(wake, wakeAll);
      } catch (error) {
        stop();
        throw error;
      }
      return stop;
    },
    async close() {
      wakeAll();
      await listener.close();
    },
  };
}
