import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Paths censored wherever they appear in a log line. Brevet never logs credentials on purpose;
 * this is the net under that rule (SPEC §3 rule 5).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  'headers.authorization',
  '*.authorization',
  '*.Authorization',
  'key',
  '*.key',
  '*.apiKey',
  '*.secretAccessKey',
  '*.SecretAccessKey',
  '*.sessionToken',
  '*.SessionToken',
  '*.token',
  '*.signingSecret',
  '*.botToken',
  '*.password',
];

/** The request as Fastify's "incoming request" line shows it, with query values censored. */
interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Replaces Fastify's request serializer, which logs the raw URL: a client that puts a token in
 * the query string (`?access_token=…`, as RFC 6750 allows) would otherwise have it written to
 * the log. Parameter names stay, so a log still tells which filters a call used.
 */
function serializeRequest(request: LoggedRequest) {
  return {
    method: request.method,
    url: censorQuery(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

function censorQuery(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const names = url
    .slice(start + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => `${pair.split('=')[0]}=[redacted]`);
  return `${url.slice(0, start)}?${names.join('&')}`;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { req: serializeRequest },
      base: { service: 'brevet' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * How a process entry logs: dev mode at a terminal gets pino-pretty's readable lines; everything
 * else (production, a pipe, a file, a container without a TTY) one JSON object per line, for
 * machines. pino-pretty is a devDependency: an install without it (the container image, where
 * `node dist/server.js` without DATABASE_URL is dev mode too) logs JSON, never fails.
 */
export function logFormat(facts: { devMode: boolean; stdoutIsTTY: boolean; prettyInstalled: boolean }): 'pretty' | 'json' {
  return facts.devMode && facts.stdoutIsTTY && facts.prettyInstalled ? 'pretty' : 'json';
}

export function createProcessLogger(level: string, options: { devMode: boolean }): Logger {
  const pretty = prettyTarget();
  const format = logFormat({ devMode: options.devMode, stdoutIsTTY: process.stdout.isTTY === true, prettyInstalled: pretty !== undefined });
  if (format === 'json' || pretty === undefined) return createLogger(level);
  // A transport: pino-pretty formats in a worker thread, and redaction still runs here first.
  const transport = pino.transport({ target: pretty, options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } }) as DestinationStream;
  return createLogger(level, transport);
}

/** pino-pretty's entry file, resolved from here, or undefined when it is not installed. */
function prettyTarget(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
}
