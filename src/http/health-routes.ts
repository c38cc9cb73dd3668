import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { withTimeout } from '../lib/with-timeout.js';

const Health = Type.Object({ status: Type.String() });
const Ready = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) });

export function healthRoutes(deps: Pick<Deps, 'database' | 'readinessChecks'>): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { operationId: 'healthz', summary: 'The process is up', tags: ['ops'], security: [], response: { 200: Health } } },
      async () => ({ status: 'ok' }),
    );

    app.get(
      '/readyz',
      {
        schema: {
          operationId: 'readyz',
          summary: 'The database (and Redis, when configured) answer',
          tags: ['ops'],
          security: [],
          response: { 200: Ready, 503: Ready },
        },
      },
      async (request, reply) => {
        const probes = { database: () => deps.database.ping(), ...deps.readinessChecks };
        const checks: Record<string, string> = {};
        await Promise.all(
          Object.entries(probes).map(async ([name, probe]) => {
            try {
              await withTimeout(probe(), 2_000, `readiness check ${name}`);
              checks[name] = 'ok';
            } catch (error) {
              request.log.warn({ err: error, check: name }, 'readiness check failed');
              checks[name] = 'failing';
            }
          }),
        );
        const ready = Object.values(checks).every((state) => state === 'ok');
        return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
      },
    );
  };
}

