import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST as it reached the receiver: the exact bytes of the body, for signature checks. */
export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The status the receiver answered. */
  status: number;
  receivedAt: Date;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hooks` */
  url: string;
  received: ReceivedWebhook[];
  /** The requests carrying this `Brevet-Delivery` id, in arrival order. */
  receivedFor(deliveryId: string): ReceivedWebhook[];
  /** Each delivery (told apart by its `Brevet-Delivery` header) fails its first `times` attempts, then succeeds. */
  failFirst(times: number, status?: number): void;
  /** Every request fails from now on. */
  failAlways(status?: number): void;
  /** Every request succeeds from now on (the default). */
  succeed(): void;
  close(): Promise<void>;
}

type Mode = { kind: 'ok' } | { kind: 'fail-first'; times: number; status: number } | { kind: 'fail-always'; status: number };

/**
 * A local HTTP endpoint standing in for a customer's webhook receiver. It records every request
 * and answers 200, or fails on command. Failures are counted per delivery, so "fail twice then
 * succeed" holds for each delivery even when several arrive at once.
 */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const attemptsByDelivery = new Map<string, number>();
  let mode: Mode = { kind: 'ok' };

  const statusFor = (deliveryId: string): number => {
    const attempt = (attemptsByDelivery.get(deliveryId) ?? 0) + 1;
    attemptsByDelivery.set(deliveryId, attempt);
    if (mode.kind === 'fail-always') return mode.status;
    if (mode.kind === 'fail-first' && attempt <= mode.times) return mode.status;
    return 200;
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const deliveryHeader = request.headers['brevet-delivery'];
      const status = statusFor(typeof deliveryHeader === 'string' ? deliveryHeader : '');
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        rawBody: Buffer.concat(chunks).toString('utf8'),
        status,
        receivedAt: new Date(),
      });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    receivedFor: (deliveryId) => received.filter((r) => r.headers['brevet-delivery'] === deliveryId),
    failFirst(times, status = 500) {
      mode = { kind: 'fail-first', times, status };
    },
    failAlways(status = 503) {
      mode = { kind: 'fail-always', status };
    },
    succeed() {
      mode = { kind: 'ok' };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
