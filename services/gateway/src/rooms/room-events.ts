import type { Redis } from 'ioredis';
import { latestMessageRows, messagesInRange, type Database, type Kysely, type MessageRow } from '@parley/db';
import type { Keys } from '@parley/redis';
import { encodeMessageEvent, type Message, type MessageType, type SystemInfo } from '@parley/protocol';

export interface RoomEvent {
  seq: number;
  /** The event's wire frame, as published. */
  event: string;
}

/**
 * Reads a room's events by seq, wherever they are: the room log in Redis holds every event not yet
 * in Postgres plus the newest ones; Postgres holds the rest. The log is read first: whatever it no
 * longer holds was trimmed only after it was committed to Postgres, so the union has no gap.
 */
export class RoomEvents {
  constructor(
    private readonly redis: Redis,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
  ) {}

  async head(roomId: number): Promise<number> {
    return Number((await this.redis.hget(this.keys.roomMeta(roomId), 'seq')) ?? 0);
  }

  async heads(roomIds: number[]): Promise<number[]> {
    if (roomIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of roomIds) pipeline.hget(this.keys.roomMeta(id), 'seq');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, v]) => {
      if (err) throw err;
      return Number(v ?? 0);
    });
  }

  /** Events with fromSeq <= seq <= toSeq, in seq order. */
  async range(roomId: number, fromSeq: number, toSeq: number): Promise<RoomEvent[]> {
    if (toSeq < fromSeq) return [];
    const entries = await this.redis.xrange(this.keys.roomLog(roomId), `${fromSeq}-0`, `${toSeq}-0`);
    const fromLog = entries.map(([id, fields]) => ({ seq: Number(id.slice(0, id.indexOf('-'))), event: fields[1]! }));
    const firstInLog = fromLog[0]?.seq ?? (await this.firstLogSeq(roomId, toSeq));
    if (firstInLog <= fromSeq) return fromLog;
    const rows = await messagesInRange(this.db, roomId, fromSeq, Math.min(toSeq, firstInLog - 1));
    return [...rows.map(eventOfRow), ...fromLog];
  }

  /** The newest message of each room, or null for a room with none. */
  async latest(roomIds: number[]): Promise<Array<Message | null>> {
    if (roomIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of roomIds) pipeline.xrevrange(this.keys.roomLog(id), '+', '-', 'COUNT', 1);
    const replies = (await pipeline.exec()) ?? [];
    const found: Array<Message | null> = replies.map(([err, entries]) => {
      if (err) throw err;
      const event = (entries as Array<[string, string[]]>)[0]?.[1][1];
      return event ? messageOf(event) : null;
    });
    // A log holds the newest events of every room that has any; Postgres answers if one was lost.
    const missing = roomIds.filter((_, i) => found[i] === null);
    if (missing.length > 0) {
      const rows = new Map((await latestMessageRows(this.db, missing)).map((r) => [r.room_id, r]));
      roomIds.forEach((id, i) => {
        const row = found[i] === null ? rows.get(id) : undefined;
        if (row) found[i] = messageOfRow(row);
      });
    }
    return found;
  }

  /** When the log has nothing in the asked range, whether it begins after it (then Postgres has it). */
  private async firstLogSeq(roomId: number, toSeq: number): Promise<number> {
    const [first] = await this.redis.xrange(this.keys.roomLog(roomId), '-', '+', 'COUNT', 1);
    return first ? Number(first[0].slice(0, first[0].indexOf('-'))) : toSeq + 1;
  }
}

/** A Postgres message row as a Message. */
export function messageOfRow(r: MessageRow): Message {
  return {
    seq: r.seq,
    chat_id: r.room_id,
    id: r.id,
    sender_id: r.sender_id,
    client_id: r.client_id,
    message_type: r.type as MessageType,
    content: r.content,
    created_at: r.created_at.toISOString(),
    system: (r.system ?? undefined) as SystemInfo | undefined,
  };
}

/** A Postgres row as its wire event, byte for byte what the append script published. */
function eventOfRow(r: MessageRow): RoomEvent {
  return { seq: r.seq, event: encodeMessageEvent(messageOfRow(r)) };
}

/** The Message of a message event (the event without its `type`). */
export function messageOf(event: string): Message {
  const { type: _type, ...message } = JSON.parse(event) as Message & { type: string };
  return message;
}
