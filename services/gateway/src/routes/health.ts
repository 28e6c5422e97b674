import { sql } from 'kysely';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Liveness, Readiness } from '@parley/protocol';

/** How long a readiness probe waits for Redis or Postgres. */
const PROBE_TIMEOUT_MS = 1000;

function within<T>(p: Promise<T>): Promise<boolean> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS)));
  return Promise.race([
    p.then(
      () => true,
      () => false,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}

/** /health/live: the process serves HTTP. /health/ready: it can also reach Redis and Postgres. */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', { schema: { response: { 200: Liveness } } }, async () => ({ status: 'ok' as const, node_id: app.config.nodeId }));

  app.get('/health/ready', { schema: { response: { 200: Readiness, 503: Readiness } } }, async (_request, reply) => {
    const [redis, postgres] = await Promise.all([within(app.redis.ping()), within(sql`select 1`.execute(app.db))]);
    const ready = redis && postgres;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unready', checks: { redis, postgres } });
  });
};
export default health;
