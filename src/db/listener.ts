import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * PostgreSQL LISTEN on one channel. NOTIFY is transactional: a payload sent inside a transaction
 * reaches listeners only when it commits, and never when it rolls back, so a listener never
 * hears of a change it cannot read yet.
 */
export interface ChannelListener {
  /**
   * Starts listening (once) and resolves when LISTEN is in effect: a NOTIFY committed after that
   * reaches `onPayload`. `onResync` is called after a lost connection is re-established, since
   * notifications sent while it was down are lost: listeners re-read what they watch.
   */
  start(onPayload: (payload: string) => void, onResync: () => void): Promise<void>;
  close(): Promise<void>;
}

const RECONNECT_MS = 1_000;

/** A dedicated connection outside the pool: a pooled one would drop LISTEN when returned. */
export function postgresListener(url: string, channel: string): ChannelListener {
  let client: pg.Client | undefined;
  let closed = false;
  let starting: Promise<void> | undefined;
  let handlers: { onPayload: (payload: string) => void; onResync: () => void } | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) handlers?.onPayload(message.payload);
    });
    // A lost connection is replaced; until then waiters fall back on their periodic re-read.
    next.on('error', () => {});
    next.on('end', () => {
      if (closed || client !== next) return;
      client = undefined;
      setTimeout(() => void reconnect(), RECONNECT_MS).unref();
    });
    await next.connect();
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    if (closed) {
      await next.end();
      return;
    }
    client = next;
  };
  const reconnect = async (): Promise<void> => {
    if (closed) return;
    try {
      await connect();
      handlers?.onResync();
    } catch {
      setTimeout(() => void reconnect(), RECONNECT_MS).unref();
    }
  };

  return {
    start(onPayload, onResync) {
      handlers = { onPayload, onResync };
      starting ??= connect().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    async close() {
      closed = true;
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}

/** Dev mode: the embedded database is in this process; PGlite delivers its NOTIFYs to listeners after commit. */
export function pgliteListener(client: PGlite, channel: string): ChannelListener {
  let unlisten: (() => Promise<void>) | undefined;
  let starting: Promise<void> | undefined;
  return {
    start(onPayload) {
      starting ??= client.listen(channel, onPayload).then((stop) => {
        unlisten = stop;
      });
      return starting;
    },
    async close() {
      await unlisten?.().catch(() => {});
    },
  };
}
