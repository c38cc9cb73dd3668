import type { FastifyInstance } from 'fastify';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Deps } from '../deps.js';
import { readGaugesFromDatabase } from '../metrics/observe.js';

/**
 * GET /metrics (no authentication, like /healthz): process metrics, an HTTP histogram by route,
 * and every brevet_* domain metric (SPEC §9) — this process's, the database-read gauges, and the
 * workers' from their Redis snapshots, so one scrape target lists them all.
 */
export function installMetrics(app: FastifyInstance, deps: Pick<Deps, 'metrics' | 'metricsSnapshots' | 'db' | 'config'>): void {
  // One registry per app, so several apps in one process (tests) do not collide.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'brevet_' });
  const duration = new Histogram({
    name: 'brevet_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  readGaugesFromDatabase(deps.metrics, deps.db, deps.config.webhookUrls);

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids in paths would explode the label set.
    const route = request.routeOptions.url ?? 'unmatched';
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const registries = [registry, deps.metrics.registry];
    const merged = deps.metricsSnapshots === undefined ? Registry.merge(registries) : await deps.metricsSnapshots.merged(registries);
    return reply.type(registry.contentType).send(await merged.metrics());
  });
}
