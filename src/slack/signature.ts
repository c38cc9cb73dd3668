import { isValidSlackRequest } from '@slack/bolt/dist/receivers/verify-request.js';

/** Slack's window for request timestamps, in both directions (SPEC §3 rule 8). */
const MAX_SKEW_SECONDS = 5 * 60;

/**
 * Verifies a Slack request (v0 scheme: HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the
 * signing secret, compared in constant time) with Slack's own helper from @slack/bolt. That
 * helper refuses stale timestamps only; a timestamp from the future is refused here too.
 * The deep import keeps Bolt's HTTP stack (express) out of the process.
 */
export function isSignedBySlack(
  signingSecret: string,
  rawBody: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  now: Date,
): boolean {
  if (headers.signature === undefined || headers.timestamp === undefined || !/^\d{1,12}$/.test(headers.timestamp)) return false;
  const timestamp = Number(headers.timestamp);
  // Whole seconds, as Slack stamps them (and as Bolt compares): exactly 5 minutes away still passes.
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > MAX_SKEW_SECONDS) return false;
  return isValidSlackRequest({
    signingSecret,
    body: rawBody,
    headers: { 'x-slack-signature': headers.signature, 'x-slack-request-timestamp': timestamp },
    nowMilliseconds: now.getTime(),
    logger: silentLogger,
  });
}

const noop = () => {};
// Bolt logs failed verifications itself; Brevet logs refusals through its own request log.
const silentLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  setLevel: noop,
  getLevel: () => 'error' as never,
  setName: noop,
};
