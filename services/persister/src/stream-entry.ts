import type { NewMessage } from '@parley/db';
import type { Message, MessageChangeEvent } from '@parley/protocol';

/** A raw stream entry: id and flat field list, as XREADGROUP and XAUTOCLAIM return them. */
export type StreamEntry = [id: string, fields: string[]];

type RoomEvent = (Message & { type: 'message' }) | MessageChangeEvent;

/**
 * The messages row of an event-stream entry (fields r = room, s = seq, e = event), or undefined if
 * malformed. Edits and deletions become rows of their own kind that point at the message they change.
 */
export function messageRowOf([, fields]: StreamEntry): NewMessage | undefined {
  const event = fields[fields.indexOf('e') + 1];
  if (!event) return undefined;
  let e: RoomEvent;
  try {
    e = JSON.parse(event);
  } catch {
    return undefined;
  }
  const common = { room_id: e.chat_id, seq: e.seq, id: e.id, sender_id: e.sender_id, client_id: e.client_id, created_at: e.created_at };
  switch (e.type) {
    case 'message':
      return { ...common, type: e.message_type, content: e.content, system: e.system ?? null, forwarded_from: e.forwarded_from ?? null };
    case 'message_edited':
      return { ...common, kind: 'edit', target_seq: e.message_seq, type: 'edit', content: e.content };
    case 'message_deleted':
      return { ...common, kind: 'delete', target_seq: e.message_seq, type: 'delete', content: '', recalled: e.recalled };
    default:
      return undefined;
  }
}
