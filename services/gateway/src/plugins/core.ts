import fp from 'fastify-plugin';
import { GatewayCore } from '../core.js';
import type { GatewayConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What routes and socket handlers hand to the domain functions (core.ts). */
    core: GatewayCore;
  }
}

/** Builds the gateway's core from the connections the redis and db plugins made, and runs it with the app. */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const core = new GatewayCore({
      config,
      redis: app.redis,
      redisSubscriber: app.redisSubscriber,
      db: app.db,
      keys: app.keys,
      scripts: app.scripts,
      log: app.log,
      metrics: app.metrics,
    });
    app.decorate('core', core);
    app.addHook('onReady', () => core.start());
    // After the sockets: closing them announces their users; then the node leaves the set.
    app.addHook('onClose', () => core.stop());
  },
  { name: 'core', dependencies: ['redis', 'db', 'metrics'] },
);
