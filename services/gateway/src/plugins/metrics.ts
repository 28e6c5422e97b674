import fp from 'fastify-plugin';
import type { GatewayConfig } from '../config.js';
import { GatewayMetrics } from '../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

/**
 * GET /metrics in Prometheus' text format, and the REST request histogram. Not routed by the load
 * balancer (infra/haproxy): Prometheus scrapes each gateway on its own port.
 */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const metrics = new GatewayMetrics(config.nodeId);
    app.decorate('metrics', metrics);
    app.addHook('onClose', async () => metrics.close());
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route === '/metrics' || route === '/ws') return;
      metrics.httpSeconds.observe({ method: request.method, route: route ?? 'unmatched', status: reply.statusCode }, reply.elapsedTime / 1000);
    });
    app.get('/metrics', async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'metrics' },
);
