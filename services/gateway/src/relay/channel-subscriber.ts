import type { RedisClient } from '@parley/redis';
import type { FastifyBaseLogger } from 'fastify';

export type ChannelHandler = (payload: string) => void;

/**
 * How a channel is published: `sharded` (SSUBSCRIBE/SPUBLISH) lives in its key's slot, so in a
 * Redis Cluster only the shard that owns it carries its traffic: rooms and users. `broadcast`
 * (SUBSCRIBE/PUBLISH) reaches every node of a cluster: token revocations, rare and for everyone.
 */
export type ChannelKind = 'sharded' | 'broadcast';

/**
 * One subscriber connection per gateway, shared by every room and user channel: subscribed while a
 * channel has a handler, unsubscribed when its last one leaves (in a cluster, one connection per
 * master). After Redis comes back from a disconnect, or a cluster's slots moved, ioredis resubscribes
 * and `onResubscribed` runs so that callers backfill what the channels dropped meanwhile.
 */
export class ChannelSubscriber {
  private readonly handlers = new Map<string, { handler: ChannelHandler; kind: ChannelKind }>();
  private connectedOnce: boolean;
  private readonly resubscribedListeners: Array<() => void> = [];

  constructor(
    private readonly sub: RedisClient,
    private readonly log: FastifyBaseLogger,
  ) {
    const dispatch = (channel: string, payload: string) => {
      // A handler's failure must not escape into the Redis client's reader.
      try {
        this.handlers.get(channel)?.handler(payload);
      } catch (err) {
        log.error({ err: (err as Error).message, channel }, 'relaying a published message failed');
      }
    };
    // Already connected (the gateway's start awaited Redis): the next 'ready' is a reconnect.
    this.connectedOnce = sub.status === 'ready';
    sub.on('message', dispatch);
    sub.on('smessage', dispatch);
    sub.on('ready', () => {
      if (this.connectedOnce) this.resubscribed('redis subscriber reconnected; resyncing channels');
      this.connectedOnce = true;
    });
    // In a cluster each master has its own sharded subscriber; after a slot moved or a master
    // failed, ioredis rebuilds them and resubscribes every channel, then says so.
    if (sub.isCluster) sub.on('subscribersReady', () => this.resubscribed('sharded subscribers rebuilt; resyncing channels'));
  }

  onResubscribed(listener: () => void): void {
    this.resubscribedListeners.push(listener);
  }

  /** Tells every listener that channels may have dropped messages: each catches up. */
  private resubscribed(why: string): void {
    this.log.warn({ channels: this.handlers.size }, why);
    for (const listener of this.resubscribedListeners) listener();
  }

  /** Resolves once Redis confirmed the subscription: from then on, every publish reaches `handler`. */
  async subscribe(channel: string, handler: ChannelHandler, kind: ChannelKind = 'sharded'): Promise<void> {
    this.handlers.set(channel, { handler, kind });
    await (kind === 'sharded' ? this.sub.ssubscribe(channel) : this.sub.subscribe(channel));
  }

  async unsubscribe(channel: string): Promise<void> {
    const kind = this.handlers.get(channel)?.kind;
    this.handlers.delete(channel);
    await (kind === 'broadcast' ? this.sub.unsubscribe(channel) : this.sub.sunsubscribe(channel));
  }
}
