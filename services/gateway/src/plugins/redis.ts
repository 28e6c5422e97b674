import fp from 'fastify-plugin';
import { claimPartitions, closeRedis, connectRedis, createKeys, createScripts, type Keys, type RedisClient, type Scripts } from '@parley/redis';
import type { GatewayConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Commands and scripts; never used for SUBSCRIBE. */
    redis: RedisClient;
    /** A dedicated connection in subscriber mode, owned by the relay. */
    redisSubscriber: RedisClient;
    keys: Keys;
    scripts: Scripts;
  }
}

/**
 * Fails commands fast while Redis is unreachable instead of queueing them without bound, and (on
 * the command connection) once one goes unanswered for REDIS_COMMAND_TIMEOUT_MS: a send then gets
 * SERVICE_UNAVAILABLE, never a late or false ack.
 */
const connectionOptions = { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5000 } as const;

export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    // A command in flight when the connection drops fails rather than being re-sent to a Redis that
    // may have restarted: an append reaches a new Redis only after its heads are reconciled (relay).
    const redis = connectRedis(config.redis, `gateway:${config.nodeId}`, {
      ...connectionOptions,
      commandTimeout: config.redisCommandTimeoutMs,
      autoResendUnfulfilledCommands: false,
    });
    const redisSubscriber = connectRedis(config.redis, `gateway-sub:${config.nodeId}`, connectionOptions);
    for (const [name, conn] of [
      ['redis', redis],
      ['redis-subscriber', redisSubscriber],
    ] as const) {
      conn.on('error', (err: Error) => {
        app.metrics.backendErrors.labels('redis').inc();
        app.log.warn({ err: err.message, connection: name }, 'redis connection error');
      });
    }
    const keys = createKeys({ prefix: config.redisKeyPrefix, partitions: config.redisPartitions });
    await claimPartitions(redis, keys);
    app.decorate<RedisClient>('redis', redis);
    app.decorate<RedisClient>('redisSubscriber', redisSubscriber);
    app.decorate('keys', keys);
    app.decorate('scripts', createScripts(redis, keys));
    app.addHook('onClose', async () => {
      await closeRedis(redisSubscriber);
      // The replies in flight may arrive, for a bounded time.
      await closeRedis(redis, { drain: true });
    });
  },
  { name: 'redis', dependencies: ['metrics'] },
);
