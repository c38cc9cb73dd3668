import type { FastifyInstance } from 'fastify';

/**
 * One log line per request, written when it completes: method, path (query values censored by
 * the `req` serializer), status and time. Fastify's own pair of lines ("incoming request" then
 * "request completed") doubles the log volume for nothing; the incoming line stays at debug level
 * for following a request that never completes.
 */
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    request.log.debug({ req: request }, 'incoming request');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime }, 'request completed');
  });
}
