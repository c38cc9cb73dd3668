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
