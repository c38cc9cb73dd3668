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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'brevet' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
