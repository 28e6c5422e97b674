import type { NewMessage } from '@parley/db';
import type { Message } from '@parley/protocol';

/** A raw stream entry: id and flat field list, as XREADGROUP and XAUTOCLAIM return them. */
export type StreamEntry = [id: string, fields: string[]];

/** The message row of an event-stream entry (fields r = room, s = seq, e = event), or undefined if malformed. */
export function messageRowOf([, fields]: StreamEntry): NewMessage | undefined {
  const event = fields[fields.indexOf('e') + 1];
  if (!event) return undefined;
  let m: Message & { type: string };
  try {
    m = JSON.parse(event);
  } catch {
    return undefined;
  }
  if (m.type !== 'message') return undefined;
  return {
    room_id: m.chat_id,
    seq: m.seq,
    id: m.id,
    sender_id: m.sender_id,
    client_id: m.client_id,
    type: m.message_type,
    content: m.content,
    system: m.system ?? null,
    created_at: m.created_at,
  };
}
