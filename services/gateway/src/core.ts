import type { FastifyBaseLogger } from 'fastify';
import type { Database, Kysely } from '@parley/db';
import type { Keys, RedisClient, Scripts } from '@parley/redis';
import type { GatewayConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import { Membership } from './rooms/membership.js';
import { RoomEvents } from './rooms/room-events.js';
import { RedisRecovery } from './redis/redis-recovery.js';
import { ChannelSubscriber } from './relay/channel-subscriber.js';
import { RoomHub } from './relay/room-hub.js';
import { UserHub } from './relay/user-hub.js';
import { Presence } from './users/presence.js';

/** What the gateway's core is built from: its connections and settings, made by the caller. */
export interface CoreParts {
  config: GatewayConfig;
  /** Commands and scripts; never used for SUBSCRIBE. */
  redis: RedisClient;
  /** A dedicated connection in subscriber mode, owned by the relay. */
  redisSubscriber: RedisClient;
  db: Kysely<Database>;
  keys: Keys;
  scripts: Scripts;
  log: FastifyBaseLogger;
  metrics: GatewayMetrics;
}

/**
 * The gateway's core: everything its domain functions (messages/, rooms/, files/, ws/) work with,
 * built here from explicit parts. Fastify's plugins make the parts and decorate the app with the
 * core (`plugins/core.ts`); routes and socket handlers hand it to the domain functions, none of
 * which sees the FastifyInstance. A test can build one from a Redis and a Postgres of its own.
 */
export class GatewayCore implements CoreParts {
  readonly config: GatewayConfig;
  readonly redis: RedisClient;
  readonly redisSubscriber: RedisClient;
  readonly db: Kysely<Database>;
  readonly keys: Keys;
  readonly scripts: Scripts;
  readonly log: FastifyBaseLogger;
  readonly metrics: GatewayMetrics;
  /** The node's one subscriber connection: room and user channels, and the token revocations. */
  readonly channels: ChannelSubscriber;
  /** Resolves once room heads in Redis are no lower than Postgres' (checked at each Redis reconnect). */
  readonly redisRecovery: RedisRecovery;
  readonly roomEvents: RoomEvents;
  readonly membership: Membership;
  readonly roomHub: RoomHub;
  readonly userHub: UserHub;
  readonly presence: Presence;

  constructor(parts: CoreParts) {
    ({
      config: this.config,
      redis: this.redis,
      redisSubscriber: this.redisSubscriber,
      db: this.db,
      keys: this.keys,
      scripts: this.scripts,
      log: this.log,
      metrics: this.metrics,
    } = parts);
    const { config, redis, db, keys, scripts, log, metrics } = parts;
    this.channels = new ChannelSubscriber(parts.redisSubscriber, log);
    const recovery = new RedisRecovery(config.redisCommandTimeoutMs, redis, db, keys, scripts, log);
    this.redisRecovery = recovery;
    this.roomEvents = new RoomEvents(redis, db, keys, () => recovery.ready());
    this.membership = new Membership(redis, db, keys, scripts, config.membersCacheTtlSeconds);
    this.roomHub = new RoomHub(
      this.channels,
      keys,
      this.roomEvents,
      log,
      metrics,
      (roomId) => recovery.partitionEpoch(keys.partitionOf(roomId)),
      config.relayProbeIntervalMs,
    );
    recovery.onMastersChanged((partitions) => this.roomHub.catchUpPartitions(partitions));
    this.userHub = new UserHub(this.channels, redis, keys, log);
    this.presence = new Presence(redis, scripts, db, keys, config.nodeId, config.presenceTtlMs, log);
  }

  /** Once the gateway is ready: the node's presence heartbeat begins. */
  start(): Promise<void> {
    return this.presence.start();
  }

  /** After the sockets are closed (closing them announces their users): the relay stops, then the node leaves the set. */
  async stop(): Promise<void> {
    this.roomHub.stop();
    await this.presence.stop();
  }
}
