import { countUnread, latestMessageRows, messagesInRange, persistedHeads, type Database, type Kysely, type MessageRow, type UnreadRange } from '@parley/db';
import { changeFieldsOf, changesOfFields, deletedSeqsOf, type Keys, type RedisClient } from '@parley/redis';
import {
  changeTargetOf,
  encodeChangeEventBody,
  encodeMessageEvent,
  foldChanges,
  isMessageEvent,
  messageOfEvent,
  readEventKind,
  withEditTextEmptied,
  withSeq,
  type Attachment,
  type ForwardedFrom,
  type Message,
  type MessageChange,
  type MessageType,
  type SystemInfo,
} from '@parley/protocol';

export interface RoomEvent {
  seq: number;
  /** The event's wire frame: a message in its current state, or an edit or deletion. */
  event: string;
}

/**
 * Reads a room's events by seq, wherever they are: the room log in Redis holds every event not yet
 * in Postgres plus the newest ones; Postgres holds the rest. The log is read first: whatever it no
 * longer holds was trimmed only after it was committed to Postgres, so the union has no gap. Each
 * message is returned in its current state: edits and deletions not yet in Postgres (or whose
 * message is read from the log) are folded over it from the room's changes hash.
 */
export class RoomEvents {
  constructor(
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    /** Resolves once the heads in Redis are no lower than Postgres' (see redis-recovery.ts). */
    private readonly reconciled: () => Promise<void>,
  ) {}

  async head(roomId: number): Promise<number> {
    return (await this.heads([roomId]))[0]!;
  }

  /**
   * The head seq of each room. A room whose head is not in Redis (new, or Redis lost its data) gets
   * it from Postgres: appends are refused (HEAD_UNKNOWN) until it is set, so Postgres then holds
   * every event there is and its newest seq is the head.
   */
  async heads(roomIds: number[]): Promise<number[]> {
    return (await this.headsAnd(roomIds)).heads;
  }

  /**
   * heads(), and with `field` also that field of each room's meta hash as a number (0 if absent),
   * read in the same command.
   */
  async headsAnd(roomIds: number[], field?: string): Promise<{ heads: number[]; fields: number[] }> {
    if (roomIds.length === 0) return { heads: [], fields: [] };
    await this.reconciled();
    // One command per room, not a pipeline: in a cluster the rooms lie in several slots. ioredis
    // writes them out together all the same.
    const extra = field === undefined ? [] : [field];
    const read = await Promise.all(roomIds.map((id) => this.redis.hmget(this.keys.roomMeta(id), 'seq', ...extra)));
    const values = read.map((r) => r[0] ?? null);
    const missing = values.flatMap((v, i) => (v === null ? [i] : []));
    if (missing.length > 0) {
      const persisted = await persistedHeads(
        this.db,
        missing.map((i) => roomIds[i]!),
      );
      await Promise.all(
        missing.map(async (i) => {
          const meta = this.keys.roomMeta(roomIds[i]!);
          const head = persisted.get(roomIds[i]!) ?? 0;
          // The floor too: what a client received above it from an earlier Redis may be gone (hello.ts).
          // The HGET follows the HSETNXs in one slot's pipeline: the head as set, by this call or a concurrent one.
          values[i] = replies(await this.redis.pipeline().hsetnx(meta, 'seq', head).hsetnx(meta, 'floor', head).hget(meta, 'seq').exec())[2]!;
        }),
      );
    }
    return { heads: values.map(Number), fields: read.map((r) => Number(r[1] ?? 0)) };
  }

  /**
   * Each room's floor: its head when the Redis now serving started (see room-reconcile.lua). A
   * client that received seqs above it from an earlier Redis may hold events that are gone.
   */
  async floors(roomIds: number[]): Promise<number[]> {
    await this.reconciled();
    const floors = await Promise.all(roomIds.map((id) => this.redis.hget(this.keys.roomMeta(id), 'floor')));
    return floors.map((v) => Number(v ?? 0));
  }

  /** Events with fromSeq <= seq <= toSeq, in seq order. */
  async range(roomId: number, fromSeq: number, toSeq: number): Promise<RoomEvent[]> {
    if (toSeq < fromSeq) return [];
    // Seqs are gapless, so the changes that may apply are known before the log is read: one round trip.
    const seqs = Array.from({ length: toSeq - fromSeq + 1 }, (_, i) => fromSeq + i);
    const [[logErr, entries], [changesErr, changes]] = (await this.redis
      .pipeline()
      .xrange(this.keys.roomLog(roomId), `${fromSeq}-0`, `${toSeq}-0`)
      .hmget(this.keys.roomChanges(roomId), ...changeFieldsOf(seqs))
      .exec())! as [[Error | null, Array<[string, string[]]>], [Error | null, Array<string | null>]];
    if (logErr) throw logErr;
    if (changesErr) throw changesErr;
    const fromLog = entries.map(([id, fields]) => ({ seq: Number(id.slice(0, id.indexOf('-'))), event: fields[1]! }));
    const firstInLog = fromLog[0]?.seq ?? (await this.firstLogSeq(roomId, toSeq));
    const events =
      firstInLog <= fromSeq ? fromLog : [...(await messagesInRange(this.db, roomId, fromSeq, Math.min(toSeq, firstInLog - 1))).map(eventOfRow), ...fromLog];
    return this.overlay(roomId, events, changesOfFields(seqs, changes), fromSeq);
  }

  /**
   * The room's head as Postgres has it, without Redis: for reading history while Redis cannot
   * answer (a failover). What the persisters have not yet written is missing.
   */
  async persistedHead(roomId: number): Promise<number> {
    return (await persistedHeads(this.db, [roomId])).get(roomId) ?? 0;
  }

  /** Events fromSeq..toSeq as Postgres has them, each message in its stored state (see persistedHead). */
  async persistedRange(roomId: number, fromSeq: number, toSeq: number): Promise<RoomEvent[]> {
    return toSeq < fromSeq ? [] : (await messagesInRange(this.db, roomId, fromSeq, toSeq)).map(eventOfRow);
  }

  /**
   * How many messages of each room count as unread for `userId` after `after` (the read position)
   * up to `head`: messages of others, not system messages, edits or deletions, and not deleted or
   * recalled. The room log holds the newest events, Postgres the ones before its first entry (the
   * log is trimmed only after Postgres has them); a deletion not yet in Postgres is in the room's
   * changes hash, and counts for both. Nothing is read for a room with nothing after `after`.
   */
  async unreadMessages(userId: string, rooms: Array<{ roomId: number; after: number; head: number }>): Promise<number[]> {
    const counts = new Map<number, number>();
    const ranges: UnreadRange[] = [];
    await Promise.all(
      rooms
        .filter((r) => r.head > r.after)
        .map(async ({ roomId, after, head }) => {
          const [[logErr, entries], [changesErr, changed]] = (await this.redis
            .pipeline()
            .xrange(this.keys.roomLog(roomId), `${after + 1}-0`, `${head}-0`)
            .hkeys(this.keys.roomChanges(roomId))
            .exec())! as [[Error | null, Array<[string, string[]]>], [Error | null, string[]]];
          if (logErr) throw logErr;
          if (changesErr) throw changesErr;
          const deleted = deletedSeqsOf(changed);
          const gone = new Set(deleted);
          const fromLog = entries.map(([id, fields]) => ({ seq: Number(id.slice(0, id.indexOf('-'))), event: fields[1]! }));
          counts.set(roomId, fromLog.filter((e) => !gone.has(e.seq) && countsAsUnread(e.event, userId)).length);
          const firstInLog = fromLog[0]?.seq ?? (await this.firstLogSeq(roomId, head));
          if (firstInLog > after + 1) ranges.push({ room_id: roomId, after, upTo: Math.min(head, firstInLog - 1), deleted });
        }),
    );
    const persisted = await countUnread(this.db, userId, ranges);
    return rooms.map((r) => (counts.get(r.roomId) ?? 0) + (persisted.get(r.roomId) ?? 0));
  }

  /** The newest message of each room (whose head seqs are given), or null for a room with none. */
  async latest(roomIds: number[], heads: number[]): Promise<Array<Message | null>> {
    // The newest message is the head event unless edits or deletions followed it: look back a little.
    const found = await Promise.all(
      roomIds.map(async (id, i) => {
        const events = await this.range(id, Math.max(1, heads[i]! - 9), heads[i]!);
        const last = events.reverse().find((e) => isMessageEvent(e.event));
        return last ? messageOfEvent(last.event) : undefined;
      }),
    );
    // Rooms with only edits among their newest events: Postgres has their newest message.
    const missing = roomIds.filter((_, i) => found[i] === undefined && heads[i]! > 0);
    const rows = new Map(missing.length ? (await latestMessageRows(this.db, missing)).map((r) => [r.room_id, r]) : []);
    return roomIds.map((id, i) => found[i] ?? (rows.has(id) ? messageOfRow(rows.get(id)!) : null));
  }

  /**
   * Folds edits and deletions (`changesOf`, by message seq, read for the whole range) over the
   * messages among `events`, and empties the text of edits whose message was deleted since; such a
   * message may lie before the range, so its changes are read then.
   */
  private async overlay(roomId: number, events: RoomEvent[], changesOf: Map<number, MessageChange[]>, fromSeq: number): Promise<RoomEvent[]> {
    const edits = events.filter((e) => readEventKind(e.event) === 'message_edited').map((e) => ({ e, target: changeTargetOf(e.event) }));
    const before = [...new Set(edits.map((x) => x.target).filter((t) => t < fromSeq))];
    if (before.length > 0) {
      const earlier = changesOfFields(before, await this.redis.hmget(this.keys.roomChanges(roomId), ...changeFieldsOf(before)));
      for (const [seq, changes] of earlier) changesOf.set(seq, changes);
    }
    if (changesOf.size === 0) return events;
    const deletedEdits = new Set(edits.filter((x) => changesOf.get(x.target)?.some((c) => c.kind === 'delete')).map((x) => x.e));
    return events.map((e) => {
      const changes = changesOf.get(e.seq);
      if (changes && isMessageEvent(e.event)) return { seq: e.seq, event: encodeMessageEvent(foldChanges(messageOfEvent(e.event), changes)) };
      if (deletedEdits.has(e)) return { seq: e.seq, event: withEditTextEmptied(e.event) };
      return e;
    });
  }

  /** When the log has nothing in the asked range, whether it begins after it (then Postgres has it). */
  private async firstLogSeq(roomId: number, toSeq: number): Promise<number> {
    const [first] = await this.redis.xrange(this.keys.roomLog(roomId), '-', '+', 'COUNT', 1);
    return first ? Number(first[0].slice(0, first[0].indexOf('-'))) : toSeq + 1;
  }
}

/** A message event from someone other than `userId`, not a system message, as appended. */
function countsAsUnread(event: string, userId: string): boolean {
  if (!isMessageEvent(event)) return false;
  const m = messageOfEvent(event);
  return m.message_type !== 'system' && m.sender_id !== userId;
}

/** A pipeline's replies, throwing the first error. */
function replies(results: Array<[Error | null, unknown]> | null): Array<string | null> {
  return (results ?? []).map(([err, v]) => {
    if (err) throw err;
    return v as string | null;
  });
}

/** A Postgres message row as a Message, in its stored state. */
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
    forwarded_from: (r.forwarded_from ?? undefined) as ForwardedFrom | undefined,
    attachment: (r.attachment ?? undefined) as Attachment | undefined,
    edited_at: r.edited_at?.toISOString(),
    deleted_at: r.deleted_at?.toISOString(),
    deleted_by: r.deleted_by ?? undefined,
    recalled: r.deleted_at ? r.recalled : undefined,
  };
}

/** A Postgres row as its wire event: a message, an edit or a deletion. */
function eventOfRow(r: MessageRow): RoomEvent {
  if (r.kind === 'message') return { seq: r.seq, event: encodeMessageEvent(messageOfRow(r)) };
  const common = {
    chat_id: r.room_id,
    id: r.id,
    sender_id: r.sender_id!,
    client_id: r.client_id,
    message_seq: r.target_seq!,
    created_at: r.created_at.toISOString(),
  };
  const body =
    r.kind === 'edit'
      ? encodeChangeEventBody({ type: 'message_edited', ...common, content: r.content })
      : encodeChangeEventBody({ type: 'message_deleted', ...common, recalled: r.recalled });
  return { seq: r.seq, event: withSeq(r.seq, body) };
}
