import type { NewMessage, PositionMark } from '@parley/db';
import { decodeRoomEvent } from '@parley/protocol';
import { pairsOf } from '@parley/redis';

/** A raw stream entry: id and flat field list, as XREADGROUP and XAUTOCLAIM return them. */
export type StreamEntry = [id: string, fields: string[]];

/** Reads one field of a flat field list (name, value, name, value…). */
function fieldOf(fields: string[]) {
  const record = pairsOf(fields);
  return (name: string): string | undefined => (Object.hasOwn(record, name) ? record[name] : undefined);
}

/** The room and seq of a room event's entry (fields r and s), when it has them: a position mark has no seq of the room's order. */
export function roomSeqOf(fields: string[]): { room?: number; seq?: number } {
  const field = fieldOf(fields);
  if (field('k') !== undefined) return {};
  const room = Number(field('r'));
  const seq = Number(field('s'));
  return Number.isSafeInteger(room) && room > 0 && Number.isSafeInteger(seq) && seq > 0 ? { room, seq } : {};
}

/**
 * What an event-stream entry asks of Postgres, or undefined if malformed: a messages row (fields
 * r = room, s = seq, e = event; edits and deletions become rows of their own kind that point at the
 * message they change), or a position (fields k = read or delivered, r = room, u = user, s = seq).
 */
export function entryOf([, fields]: StreamEntry): { row: NewMessage } | { mark: PositionMark } | undefined {
  const field = fieldOf(fields);
  const kind = field('k');
  if (kind !== undefined) {
    const room = Number(field('r'));
    const seq = Number(field('s'));
    const user = field('u');
    const valid = (kind === 'read' || kind === 'delivered') && Number.isSafeInteger(room) && Number.isSafeInteger(seq) && user;
    return valid ? { mark: { kind, room_id: room, user_id: user, seq } } : undefined;
  }
  const event = field('e');
  if (!event) return undefined;
  const e = decodeRoomEvent(event);
  if (!e) return undefined;
  if (e.type !== 'message' && e.type !== 'message_edited' && e.type !== 'message_deleted') return undefined;
  // One literal, then the fields of the kind set on it: spreading a common part into each kind's
  // row cost three times as much, and this runs for every message persisted.
  const row: NewMessage = {
    room_id: e.chat_id,
    seq: e.seq,
    id: e.id,
    sender_id: e.sender_id,
    client_id: e.client_id,
    created_at: e.created_at,
    type: '',
    content: '',
  };
  switch (e.type) {
    case 'message':
      row.type = e.message_type;
      row.content = e.content;
      row.system = e.system ?? null;
      row.attachment = e.attachment ?? null;
      row.forwarded_from = e.forwarded_from ?? null;
      break;
    case 'message_edited':
      row.kind = row.type = 'edit';
      row.target_seq = e.message_seq;
      row.content = e.content;
      break;
    case 'message_deleted':
      row.kind = row.type = 'delete';
      row.target_seq = e.message_seq;
      row.recalled = e.recalled;
      break;
  }
  return { row };
}
