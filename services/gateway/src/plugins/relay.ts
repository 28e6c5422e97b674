import fp from 'fastify-plugin';
import { Membership } from '../rooms/membership.js';
import { RoomEvents } from '../rooms/room-events.js';
import { RedisRecovery } from '../rooms/redis-recovery.js';
import { ChannelSubscriber } from '../relay/channel-subscriber.js';
import { RoomHub } from '../relay/room-hub.js';
import { UserHub } from '../relay/user-hub.js';
import { Presence } from '../relay/presence.js';
import type { GatewayConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    membership: Membership;
    /** Resolves once room heads in Redis are no lower than Postgres' (checked at each Redis reconnect). */
    redisRecovery: RedisRecovery;
    roomEvents: RoomEvents;
    roomHub: RoomHub;
    userHub: UserHub;
    presence: Presence;
    /** The node's one subscriber connection: room and user channels, and the token revocations. */
    channels: ChannelSubscriber;
  }
}

/** Room membership, room event reads, presence, and the pub/sub relay of this node. */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const subscriber = new ChannelSubscriber(app.redisSubscriber, app.log);
    app.decorate('channels', subscriber);
    const recovery = new RedisRecovery(config.redisCommandTimeoutMs, app.redis, app.db, app.keys, app.scripts, app.log);
    app.decorate('redisRecovery', recovery);
    const roomEvents = new RoomEvents(app.redis, app.db, app.keys, () => recovery.ready());
    app.decorate('membership', new Membership(app.redis, app.db, app.keys, app.scripts, config.membersCacheTtlSeconds));
    app.decorate('roomEvents', roomEvents);
    const roomHub = new RoomHub(
      subscriber,
      app.keys,
      roomEvents,
      app.log,
      app.metrics,
      (roomId) => recovery.partitionEpoch(app.keys.partitionOf(roomId)),
      config.relayProbeIntervalMs,
    );
    app.decorate('roomHub', roomHub);
    recovery.onMastersChanged((partitions) => roomHub.catchUpPartitions(partitions));
    app.addHook('onClose', () => roomHub.stop());
    app.decorate('userHub', new UserHub(subscriber, app.redis, app.keys, app.log));
    const presence = new Presence(app.redis, app.db, app.keys, config.nodeId, config.presenceTtlMs, app.log);
    app.decorate('presence', presence);
    app.addHook('onReady', () => presence.start());
    // After the sockets: closing them announces their users; then the node leaves the set.
    app.addHook('onClose', () => presence.stop());
  },
  { name: 'relay', dependencies: ['redis', 'db'] },
);
