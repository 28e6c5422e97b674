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
  /** Listeners per user: an array, lighter than a Set for the one or two sockets a user has here. */
  private readonly users = new Map<string, { listeners: UserListener[]; subscribed: Promise<void> }>();

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly log: FastifyBaseLogger,
  ) {}

  async join(userId: string, listener: UserListener): Promise<void> {
    let state = this.users.get(userId);
    if (state) {
      if (!state.listeners.includes(listener)) state.listeners.push(listener);
    } else {
      const listeners = [listener];
      const subscribed = this.subscriber.subscribe(this.keys.userChannel(userId), (payload) => {
        const message = JSON.parse(payload) as UserControl;
        // A copy: a listener may leave (or another join) while the message is handed out.
        for (const l of listeners.slice()) l.control(message);
      });
      state = { listeners, subscribed };
      this.users.set(userId, state);
    }
    await state.subscribed;
  }

  leave(userId: string, listener: UserListener): void {
    const state = this.users.get(userId);
    if (!state) return;
    const i = state.listeners.indexOf(listener);
    if (i < 0) return;
    state.listeners.splice(i, 1);
    if (state.listeners.length === 0) {
      this.users.delete(userId);
      this.subscriber.unsubscribe(this.keys.userChannel(userId)).catch((err: Error) => this.log.warn({ err: err.message }, 'unsubscribe failed'));
    }
  }

  /** Tells every socket of the user, on every gateway. */
  async publish(userId: string, message: UserControl): Promise<void> {
    await this.redis.spublish(this.keys.userChannel(userId), JSON.stringify(message));
  }
}
