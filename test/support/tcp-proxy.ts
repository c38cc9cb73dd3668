import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  /** host:port clients connect to. */
  port: number;
  /** Drops every connection and refuses new ones (as a service that went down). */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  /** Keeps what clients send from reaching the service (a service that stopped answering). */
  hold(): void;
  /** Forwards what was held, in order, and everything after it. */
  release(): void;
  close(): Promise<void>;
}

/** A loopback TCP forwarder to `target` that a test can cut, to take a shared service "down". */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  let held: [Socket, Buffer][] | undefined;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => (held === undefined ? upstream.write(chunk) : held.push([upstream, chunk])));
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      open = true;
    },
    hold() {
      held ??= [];
    },
    release() {
      const chunks = held ?? [];
      held = undefined;
      for (const [upstream, chunk] of chunks) upstream.write(chunk);
    },
    close: () =>
      new Promise<void>((resolve) => {
        open = false;
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
