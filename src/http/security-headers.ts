import type { FastifyInstance } from 'fastify';

/**
 * Headers every response carries (issue 10 item 12), set in `onSend` so errors, 404s, 429s and
 * streamed exports get them too (answers Node writes itself carry them from server-timeouts.ts):
 * - `X-Content-Type-Options: nosniff`: a browser never guesses a type other than the one sent,
 *   so no JSON or CSV carrying user text is ever run as HTML or script;
 * - `Cache-Control: no-store` on `/v1/*` (and Slack's answers): request data (justifications,
 *   audit events, identities) is never kept by a browser or shared cache. Credential responses
 *   already set it.
 */
const CARRIES_REQUEST_DATA = /^\/(v1|integrations)\//;

export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    if (CARRIES_REQUEST_DATA.test(request.url) && !reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
  });
}
