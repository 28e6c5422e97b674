import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';

export type ChannelHandler = (payload: string) => void;

/**
 * One subscriber connection per gateway, shared by every room and user channel: SUBSCRIBE while a
 * channel has a handler, UNSUBSCRIBE when its last one leaves. After Redis comes back from a
 * disconnect, ioredis resubscribes and `onResubscribed` runs so that callers backfill what the
 * channels dropped meanwhile.
 */
export class ChannelSubscriber {
  private readonly handlers = new Map<string, ChannelHandler>();
  private connectedOnce = false;
  private readonly resubscribedListeners: Array<() => void> = [];

  constructor(private readonly sub: Redis, log: FastifyBaseLogger) {
    sub.on('message', (channel: string, payload: string) => {
      // A handler's failure must not escape into the Redis client's reader.
      try {
        this.handlers.get(channel)?.(payload);
      } catch (err) {
        log.error({ err: (err as Error).message, channel }, 'relaying a published message failed');
      }
    });
    sub.on('ready', () => {
      if (this.connectedOnce) {
        log.warn({ channels: this.handlers.size }, 'redis subscriber reconnected; resyncing channels');
        for (const listener of this.resubscribedListeners) listener();
      }
      this.connectedOnce = true;
    });
  }

  onResubscribed(listener: () => void): void {
    this.resubscribedListeners.push(listener);
  }

  /** Resolves once Redis confirmed the subscription: from then on, every publish reaches `handler`. */
  async subscribe(channel: string, handler: ChannelHandler): Promise<void> {
    this.handlers.set(channel, handler);
    await this.sub.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    this.handlers.delete(channel);
    await this.sub.unsubscribe(channel);
  }
}
