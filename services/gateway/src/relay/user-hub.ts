import type { FastifyBaseLogger } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ChatAddedFrame, ReadStateFrame } from '@parley/protocol';
import type { Keys, RedisClient } from '@parley/redis';
import type { ChannelSubscriber } from './channel-subscriber.js';

/** Control messages sent to all of one user's sockets, on every gateway. */
export type UserControl = Static<typeof ChatAddedFrame> | Static<typeof ReadStateFrame>;

export interface UserListener {
  control(message: UserControl): void;
}

/** Relays per-user control messages (membership changes, read state) to this node's sockets of that user. */
export class UserHub {
  private readonly users = new Map<string, { listeners: Set<UserListener>; subscribed: Promise<void> }>();

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly log: FastifyBaseLogger,
  ) {}

  async join(userId: string, listener: UserListener): Promise<void> {
    let state = this.users.get(userId);
    if (!state) {
      const listeners = new Set<UserListener>();
      const subscribed = this.subscriber.subscribe(this.keys.userChannel(userId), (payload) => {
        const message = JSON.parse(payload) as UserControl;
        for (const l of listeners) l.control(message);
      });
      state = { listeners, subscribed };
      this.users.set(userId, state);
    }
    state.listeners.add(listener);
    await state.subscribed;
  }

  leave(userId: string, listener: UserListener): void {
    const state = this.users.get(userId);
    if (!state) return;
    state.listeners.delete(listener);
    if (state.listeners.size === 0) {
      this.users.delete(userId);
      this.subscriber.unsubscribe(this.keys.userChannel(userId)).catch((err: Error) => this.log.warn({ err: err.message }, 'unsubscribe failed'));
    }
  }

  /** Tells every socket of the user, on every gateway. */
  async publish(userId: string, message: UserControl): Promise<void> {
    await this.redis.spublish(this.keys.userChannel(userId), JSON.stringify(message));
  }
}
