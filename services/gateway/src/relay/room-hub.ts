import type { FastifyBaseLogger } from 'fastify';
import { DeliveryGate, isRoomEvent, membershipEndOf, readEventCreatedAt, readEventSeq } from '@parley/protocol';
import type { Keys } from '@parley/redis';
import type { RoomEvents } from '../rooms/room-events.js';
import { textFrame, type Frame } from '../ws/frame-writer.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ChannelSubscriber } from './channel-subscriber.js';

/**
 * What the hub delivers to: a socket's connection. `frame` is the event, framed once for all its
 * sockets; `endsFor` names the user whose membership ends with this event (`*` for everyone).
 */
export interface RoomListener {
  deliver(roomId: number, seq: number, frame: Frame, endsFor: string | undefined): void;
  /** A frame of the room outside its order (a receipt): no seq, nothing to backfill. */
  signal(roomId: number, frame: Frame): void;
  /** Events after `floor` may be gone (Redis lost its newest events): later events reuse their seqs. */
  rewound(roomId: number, floor: number): void;
}

interface RoomState {
  listeners: Set<RoomListener>;
  /** Resolves when the channel subscription is confirmed. */
  subscribed: Promise<void>;
  /** What has been delivered to the listeners (its cursor 0 until known), and what is held while a gap is backfilled. */
  gate: DeliveryGate<string>;
  /** The Redis master (run_id) of the room's partition whose events were relayed. */
  epoch: string;
  /** When the channel last delivered anything, or a probe found nothing missing (ms). */
  heardAt: number;
  /** A catch-up was asked for while events were held: it runs once they are delivered. */
  catchUpAfter: boolean;
}

/** How soon a catch-up that failed (Redis not ready) is tried again. */
const CATCH_UP_RETRY_MS = 500;

/**
 * Relays room events from Redis pub/sub to this node's sockets. Each event arrives once per node,
 * already encoded; its seq is read from the frame's prefix and the same string is written to every
 * local socket in the room. A seq that skips ahead (pub/sub dropped messages, say across a Redis
 * reconnect) is backfilled from the room's log before anything newer is delivered. A subscription
 * that stops delivering with no error at all (seen with every Redis client after a slot moved) is
 * found by the probe: a room silent for `probeMs` has its head read, and what it lacks backfilled,
 * so such a loss is repaired within 2 × `probeMs` of the first event missed.
 */
export class RoomHub {
  private readonly rooms = new Map<number, RoomState>();
  private readonly probeTimer: NodeJS.Timeout;
  private probing = false;

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly keys: Keys,
    private readonly events: RoomEvents,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: GatewayMetrics,
    /** The incarnation of the Redis master serving a room's partition (see redis-recovery.ts). */
    private readonly epoch: (roomId: number) => string,
    /** RELAY_PROBE_INTERVAL_MS. */
    private readonly probeMs: number,
  ) {
    subscriber.onResubscribed(() => {
      for (const roomId of this.rooms.keys()) void this.catchUp(roomId);
    });
    this.probeTimer = setInterval(() => void this.probe(), probeMs).unref();
  }

  stop(): void {
    clearInterval(this.probeTimer);
  }

  /**
   * Adds a listener; resolves once every later event of the room is sure to reach it. When this
   * join subscribed the node to the room, with the head it read then: every event after it reaches
   * the listener (a listener that comes later reads the head itself).
   */
  async join(roomId: number, listener: RoomListener): Promise<number | undefined> {
    let state = this.rooms.get(roomId);
    if (!state) {
      const listeners = new Set<RoomListener>();
      const fresh: RoomState = {
        listeners,
        subscribed: Promise.resolve(),
        gate: new DeliveryGate(0, (seq, event) => fanOut(listeners, roomId, seq, event)),
        epoch: this.epoch(roomId),
        heardAt: Date.now(),
        catchUpAfter: false,
      };
      fresh.subscribed = this.subscriber.subscribe(this.keys.roomChannel(roomId), (event) => this.onEvent(roomId, event));
      this.rooms.set(roomId, fresh);
      state = fresh;
      state.listeners.add(listener);
      try {
        await state.subscribed;
      } catch (err) {
        this.leave(roomId, listener);
        throw err;
      }
      const head = await this.events.head(roomId);
      state.gate.skipTo(head);
      return head;
    }
    state.listeners.add(listener);
    await state.subscribed;
    return undefined;
  }

  leave(roomId: number, listener: RoomListener): void {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.listeners.delete(listener);
    if (state.listeners.size === 0) {
      this.rooms.delete(roomId);
      this.subscriber.unsubscribe(this.keys.roomChannel(roomId)).catch((err: Error) => this.log.warn({ err: err.message, roomId }, 'unsubscribe failed'));
    }
  }

  /**
   * The master of these partitions changed (redis-recovery.ts): catch their rooms up, so that what
   * this node relayed and the new master lacks is rewound, whichever of this and the subscriber's
   * own resubscribe comes first.
   */
  catchUpPartitions(partitions: Set<number>): void {
    for (const roomId of this.rooms.keys()) if (partitions.has(this.keys.partitionOf(roomId))) void this.catchUp(roomId);
  }

  /** Rooms this node relays, for health and tests. */
  get size(): number {
    return this.rooms.size;
  }

  private onEvent(roomId: number, event: string): void {
    const state = this.rooms.get(roomId);
    if (!state) return;
    state.heardAt = Date.now();
    if (!isRoomEvent(event)) {
      const frame = textFrame(event);
      for (const listener of state.listeners) listener.signal(roomId, frame);
      return;
    }
    const { gate } = state;
    const seq = readEventSeq(event);
    if (gate.holding) return gate.offer(seq, event);
    this.observeDelay(event);
    if (gate.skipsAhead(seq)) {
      gate.hold();
      gate.offer(seq, event);
      void this.backfill(roomId, state, seq - 1);
      return;
    }
    gate.offer(seq, event);
  }

  /** Cross-node fan-out latency: the event's created_at (its gateway's clock) to now. */
  private observeDelay(event: string): void {
    const created = readEventCreatedAt(event);
    if (created !== undefined) this.metrics.relayDelaySeconds.observe(Math.max(0, Date.now() - created) / 1000);
  }

  /**
   * Reads the heads of the rooms silent for `probeMs`: one ahead of what was relayed means its
   * subscription lost events without a word (an event heard meanwhile says it did not).
   */
  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const started = Date.now();
    const silent = [...this.rooms].filter(([, state]) => !state.gate.holding && started - state.heardAt >= this.probeMs);
    try {
      if (silent.length === 0) return;
      const heads = await this.events.heads(silent.map(([roomId]) => roomId));
      silent.forEach(([roomId, state], i) => {
        if (this.rooms.get(roomId) !== state || state.heardAt > started) return;
        state.heardAt = Date.now();
        if (heads[i]! <= state.gate.cursor) return;
        this.metrics.relayProbeGaps.inc();
        this.log.warn({ roomId, lastSeq: state.gate.cursor, head: heads[i] }, 'relay probe: the room channel went silent past events; catching up');
        void this.catchUp(roomId);
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, rooms: silent.length }, 'relay probe failed; trying again at the next');
    } finally {
      this.probing = false;
    }
  }

  /**
   * After a resubscribe: deliver whatever was published while the subscription was down. Events
   * that arrive meanwhile are held; if Redis cannot be read yet, they stay held and the catch-up is
   * tried again (`retry`), so that nothing is delivered past a gap not yet filled.
   */
  private async catchUp(roomId: number, retry = false): Promise<void> {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const { gate } = state;
    if (gate.holding && !retry) {
      state.catchUpAfter = true;
      return;
    }
    gate.hold();
    let head: number;
    try {
      // A new Redis: what was relayed above the room's floor may be gone, and its seqs reused. The
      // rewind drops what was held above the floor; the head is read after it, so the backfill
      // below covers every event published before, those dropped included.
      const epoch = this.epoch(roomId);
      if (state.epoch !== epoch) {
        const [floor] = await this.events.floors([roomId]);
        state.epoch = epoch;
        const relayed = gate.cursor;
        if (gate.rewind(floor!)) {
          this.log.warn({ roomId, lastSeq: relayed, floor }, 'room rewound: Redis lost events this node relayed');
          for (const listener of state.listeners) listener.rewound(roomId, floor!);
        }
      }
      head = await this.events.head(roomId);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, roomId }, 'relay catch-up failed; retrying');
      this.retryCatchUp(roomId, state);
      return;
    }
    await this.backfill(roomId, state, head);
  }

  private retryCatchUp(roomId: number, state: RoomState): void {
    setTimeout(() => this.rooms.get(roomId) === state && void this.catchUp(roomId, true), CATCH_UP_RETRY_MS).unref();
  }

  /** Delivers the room's events up to `upTo` from its log, then what was held meanwhile. */
  private async backfill(roomId: number, state: RoomState, upTo: number): Promise<void> {
    try {
      const from = state.gate.cursor + 1;
      const missed = await this.events.range(roomId, from, upTo);
      this.log.info({ roomId, from, upTo, found: missed.length }, 'backfilled a relay gap');
      for (const { seq, event } of missed) state.gate.fill(seq, event);
      // The head was read before the (re)subscription took effect: what was published in between
      // came neither from the log read nor from the channel. Fill up to the first event held (while
      // each read finds something: a read that finds nothing releases, as before).
      const next = state.gate.firstHeld;
      if (next !== undefined && state.gate.skipsAhead(next) && missed.length > 0) return void this.backfill(roomId, state, next - 1);
    } catch (err) {
      // The held events stay held: delivering them now would skip the gap.
      this.log.warn({ err: (err as Error).message, roomId }, 'relay backfill failed; retrying');
      this.retryCatchUp(roomId, state);
      return;
    }
    state.gate.release();
    if (state.catchUpAfter) {
      state.catchUpAfter = false;
      void this.catchUp(roomId);
    }
  }
}

/** Delivers one event of the room to each of its listeners, framed once for all of them. */
function fanOut(listeners: Set<RoomListener>, roomId: number, seq: number, event: string): void {
  const frame = textFrame(event);
  const endsFor = membershipEndOf(event);
  // A listener may leave during the loop (its membership ended): a Set allows that.
  for (const listener of listeners) listener.deliver(roomId, seq, frame, endsFor);
}
