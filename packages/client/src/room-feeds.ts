import { DeliveryGate } from '@parley/protocol/delivery-gate';
import type { ServerFrameOf } from '@parley/protocol';
import type { RestApi } from './rest.js';

/** Room events: each has a seq in its room's order. */
export type RoomEventFrame = ServerFrameOf<'message'> | ServerFrameOf<'message_edited'> | ServerFrameOf<'message_deleted'>;

/**
 * The SDK's side of ordered delivery: one DeliveryGate per room (the type the gateway uses for its
 * hub and its sockets), whose cursor is the last seq the application was given. Live events are
 * held while a room is caught up from history, and a rewind takes the cursor back.
 */
export class RoomFeeds {
  private readonly gates = new Map<number, DeliveryGate<RoomEventFrame>>();
  /** Rooms being caught up from history, each by its latest catch-up. */
  private readonly catchUps = new Map<number, { done: Promise<void> }>();

  constructor(
    private readonly rest: RestApi,
    private readonly pageSize: number,
    private readonly deliver: (frame: RoomEventFrame) => void,
  ) {}

  /** A room seen for the first time starts at `seq` (where the application starts it); a known one is left as it is. */
  start(chatId: number, seq: number): void {
    this.gate(chatId, seq);
  }

  /** The last seq delivered of each room: what a resume starts from. */
  positions(): Record<number, number> {
    return Object.fromEntries([...this.gates].map(([chatId, gate]) => [chatId, gate.cursor]));
  }

  /** Delivers a room event once, in seq order; held while the room is caught up from history. */
  offer(frame: RoomEventFrame): void {
    this.gate(frame.chat_id).offer(frame.seq, frame);
  }

  /** Events after `head` that were delivered are gone: go on from it. Returns whether the application must be told. */
  rewind(chatId: number, head: number): boolean {
    return this.gate(chatId).rewind(head);
  }

  /** Whether a known room, not being caught up, lacks events up to `head`. */
  behind(chatId: number, head: number): boolean {
    const gate = this.gates.get(chatId);
    return gate !== undefined && head > gate.cursor && !gate.holding;
  }

  /**
   * The gap since the last seq seen is longer than the server replays: page history from there up
   * to `head`, deliver it in order, then the live events that came meanwhile. History lists messages
   * in their current state (edits and deletions folded in), so those events are not replayed.
   */
  catchUp(chatId: number, head: number): Promise<void> {
    const gate = this.gate(chatId);
    gate.hold();
    // One catch-up of a room at a time (a poll's may still run when the socket's resume_too_far
    // comes), and the hold lasts until the last one ends: a release between them would let live
    // events past the history the next one pages.
    const previous = this.catchUps.get(chatId)?.done;
    const turn = { done: Promise.resolve() };
    this.catchUps.set(chatId, turn);
    turn.done = (async () => {
      await previous?.catch(() => undefined);
      try {
        let after = gate.cursor;
        while (after < head) {
          const page = await this.rest.history(chatId, { after, limit: this.pageSize });
          for (const m of [...page.messages].reverse()) if (m.seq <= head) gate.fill(m.seq, { type: 'message', ...m });
          // The page's cursor, not its last message: a window of only edits lists none.
          after = page.next_after ?? head;
        }
        gate.skipTo(head);
      } finally {
        if (this.catchUps.get(chatId) === turn) {
          this.catchUps.delete(chatId);
          gate.release();
        }
      }
    })();
    return turn.done;
  }

  /** A room's gate, made on first sight with the seq the application starts it from. */
  private gate(chatId: number, startSeq = 0): DeliveryGate<RoomEventFrame> {
    let gate = this.gates.get(chatId);
    if (!gate) {
      gate = new DeliveryGate<RoomEventFrame>(startSeq, (_seq, frame) => this.deliver(frame));
      this.gates.set(chatId, gate);
    }
    return gate;
  }
}
