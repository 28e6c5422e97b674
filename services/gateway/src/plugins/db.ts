import fp from 'fastify-plugin';
import { createDb, type Database, type Kysely } from '@parley/db';
import type { GatewayConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
  }
}

export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const db = createDb({
      url: config.databaseUrl,
      poolSize: config.databasePoolSize,
      onIdleError: (err) => {
        app.metrics.backendErrors.labels('postgres').inc();
        app.log.warn({ err: err.message }, 'postgres connection lost');
      },
      onQueryError: () => app.metrics.backendErrors.labels('postgres').inc(),
    });
    app.decorate('db', db);
    app.addHook('onClose', async () => db.destroy());
  },
  { name: 'db', dependencies: ['metrics'] },
);
