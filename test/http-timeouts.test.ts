// Issue 10 item 3: a client that trickles its headers or its body is answered 408 problem+json and
// its connection closed; an idle kept-alive connection is closed; and an answer that takes longer
// than those limits (the 60 s long-poll of SPEC §10.1) is still delivered. The app runs here with
// timeouts shortened to fractions of a second; the production values are checked as values.
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_TIMEOUTS, timeoutOptions } from '../src/http/server-timeouts.js';
import { startTestApp, type TestApp } from './support/app.js';
import { startOidcIssuer, type OidcIssuer } from './support/oidc-issuer.js';

const SHORT = { headersMs: 400, requestMs: 800, idleMs: 5_000, keepAliveMs: 500, checkIntervalMs: 50 };
/** How long the stand-in JWKS endpoint takes to answer: longer than the request timeouts above. */
const SLOW_JWKS_MS = 1_500;

let t: TestApp;
let issuer: OidcIssuer;
let slowJwks: Server;
let port: number;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  // The issuer's keys, served late: verifying a token then takes longer than SHORT.requestMs.
  slowJwks = createHttpServer((_req, res) => {
    setTimeout(() => {
      void fetch(issuer.jwksUrl)
        .then((answer) => answer.text())
        .then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    }, SLOW_JWKS_MS);
  });
  await new Promise<void>((resolve) => slowJwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(slowJwks.address() as AddressInfo).port}/jwks`;
  t = await startTestApp({
    env: { OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience, OIDC_JWKS_URL: jwksUrl },
    app: { httpTimeouts: SHORT },
    // Tokens are minted on the real clock.
    realClock: true,
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await t?.close();
  slowJwks?.closeAllConnections();
  await new Promise((resolve) => slowJwks?.close(resolve));
  await issuer?.close();
});

/** A raw connection: everything the server sent, and a promise of its closing. */
function rawConnection(): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

/** Writes `chunk` every 100 ms until the connection closes: a client that keeps the socket busy but never finishes. */
function trickle(socket: Socket, chunk: string): void {
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(timer);
    else socket.write(chunk);
  }, 100);
  socket.once('close', () => clearInterval(timer));
}

function expect408(raw: string) {
  const [head, body] = raw.split('\r\n\r\n');
  expect(head).toMatch(/^HTTP\/1\.1 408 /);
  expect(head).toMatch(/content-type: application\/problem\+json/i);
  expect(head).toMatch(/x-content-type-options: nosniff/i);
  expect(head).toMatch(/connection: close/i);
  expect(JSON.parse(body!)).toMatchObject({ type: 'request-timeout', status: 408 });
}

describe('a client that trickles', () => {
  it('its headers gets 408 problem+json and the connection closed', async () => {
    const connection = rawConnection();
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: brevet\r\n');
    trickle(connection.socket, 'X-Slow: 1\r\n');
    await connection.closed;
    expect408(connection.received());
  });

  it('its body gets 408 problem+json and the connection closed, and nothing is created', async () => {
    const connection = rawConnection();
    connection.socket.write(
      'POST /v1/principals HTTP/1.1\r\nHost: brevet\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n' +
        `Authorization: Bearer ${t.adminKey}\r\n\r\n{"displayName":"slow","email":"slow@example.com"`,
    );
    trickle(connection.socket, ' ');
    await connection.closed;
    expect408(connection.received());
    const listed = await t.http().get('/v1/principals?limit=500').set('authorization', `Bearer ${t.adminKey}`).expect(200);
    expect(JSON.stringify(listed.body)).not.toContain('slow@example.com');
  });

  it('nothing at all after connecting gets 408 too: idle sockets do not pile up', async () => {
    const connection = rawConnection();
    await connection.closed;
    expect408(connection.received());
  });
});

describe('an exchange that takes long on the server side', () => {
  it('is answered even when it outlasts the request and headers timeouts (room for the long-poll)', async () => {
    const started = Date.now();
    const me = await t.http().get('/v1/me').set('authorization', `Bearer ${await issuer.token({ sub: 'slow-jwks' })}`);
    expect(me.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_JWKS_MS);
  });
});

describe('a kept-alive connection', () => {
  it('is closed by the server once idle past the keep-alive timeout', async () => {
    const connection = rawConnection();
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: brevet\r\nConnection: keep-alive\r\n\r\n');
    await connection.closed;
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('production values', () => {
  it('bound what a client sends tightly and leave more than 65 s of silence for the long-poll', () => {
    const server = timeoutOptions(HTTP_TIMEOUTS).serverFactory!(() => {}, {}) as Server;
    expect({
      headersTimeout: server.headersTimeout,
      requestTimeout: server.requestTimeout,
      keepAliveTimeout: server.keepAliveTimeout,
      timeout: server.timeout,
    }).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 72_000, timeout: 75_000 });
    expect(server.timeout).toBeGreaterThan(65_000);
    server.close();
  });
});
