import { createServer, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { Problem, problemBody } from './problems.js';

/**
 * How long a connection may take over each part of an exchange (issue 10 item 3). The two that
 * bound what a client sends are short; the two that bound silence are longer than the 60 s
 * long-poll of SPEC §10.1 (`GET /v1/requests/{id}?waitSeconds=60`), during which nothing moves
 * on the socket until the server answers.
 */
export interface HttpTimeouts {
  /** From the first byte of a request to the end of its headers (Node `headersTimeout`). */
  headersMs: number;
  /** From the first byte of a request to the end of its body (Node `requestTimeout`). Answering is not included. */
  requestMs: number;
  /** Silence on the socket while a request is open, in either direction (socket idle timeout). Must exceed 65 s. */
  idleMs: number;
  /** Silence between two requests on a kept-alive connection (Node `keepAliveTimeout`). */
  keepAliveMs: number;
  /** How often Node checks the two request timeouts; it is their resolution. */
  checkIntervalMs: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  idleMs: 75_000,
  // Above the 60 s idle timeout of common load balancers (ALB, nginx), so a proxy never reuses a
  // connection Brevet is closing (which it would answer with a 502).
  keepAliveMs: 72_000,
  checkIntervalMs: 1_000,
};

/**
 * Fastify constructor options: a server built with the timeouts (the checking interval can only
 * be set at creation), and expiries answered as problem+json.
 */
export function timeoutOptions(timeouts: HttpTimeouts): Pick<FastifyServerOptions, 'serverFactory' | 'clientErrorHandler'> {
  return {
    serverFactory: (handler) => {
      const server = createServer(
        {
          headersTimeout: timeouts.headersMs,
          requestTimeout: timeouts.requestMs,
          keepAliveTimeout: timeouts.keepAliveMs,
          connectionsCheckingInterval: timeouts.checkIntervalMs,
        },
        handler,
      );
      server.setTimeout(timeouts.idleMs);
      return server;
    },
    clientErrorHandler,
  };
}

/**
 * Errors Node meets before a request reaches Fastify (a timeout, headers too large, bytes that
 * are not HTTP) would otherwise be answered with Node's or Fastify's own bodies. Answered here as
 * problem+json like everything else, then the connection is closed: its state is unknown.
 */
function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new Problem('request-timeout', 'the request was not received in time; the connection is closed')
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new Problem('headers-too-large', 'the request headers are too large')
        : new Problem('validation', 'the request is not valid HTTP');
  this.log.debug({ code: error.code, status: problem.status }, 'client error before routing');
  if (socket.writable) {
    const body = JSON.stringify(problemBody(problem));
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        'Cache-Control: no-store\r\n' +
        'Connection: close\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
