import type { Message } from './common.js';
import type { MessageChangeEvent } from './frames.js';

/**
 * The wire encoding of a room event. The seq comes first (`{"seq":N,…`) because the Redis script
 * that assigns it prepends it to the rest of the frame; history and backfill encode with the same
 * function so that a backfilled event is byte-identical to the live one.
 */
export function encodeMessageEventBody(m: Omit<Message, 'seq'>): string {
  return JSON.stringify({
    type: 'message',
    chat_id: m.chat_id,
    id: m.id,
    sender_id: m.sender_id,
    client_id: m.client_id,
    message_type: m.message_type,
    content: m.content,
    created_at: m.created_at,
    // Optional fields last, left out when absent.
    system: m.system,
    forwarded_from: m.forwarded_from,
    // A deleted message no longer carries its file (which is hidden too).
    attachment: m.deleted_at ? undefined : m.attachment,
    edited_at: m.edited_at,
    deleted_at: m.deleted_at,
    deleted_by: m.deleted_by,
    recalled: m.recalled,
  });
}

/**
 * The wire encoding of an edit or deletion without its seq (which the append script prepends), in
 * one field order whoever builds it, so that a replay from Postgres matches the live event.
 */
export function encodeChangeEventBody(e: MessageChangeEvent extends infer E ? (E extends unknown ? Omit<E, 'seq'> : never) : never): string {
  const common = {
    type: e.type,
    chat_id: e.chat_id,
    id: e.id,
    sender_id: e.sender_id,
    client_id: e.client_id,
    message_seq: e.message_seq,
    created_at: e.created_at,
  };
  return JSON.stringify(e.type === 'message_edited' ? { ...common, content: e.content } : { ...common, recalled: e.recalled });
}

/** Prepends the seq, exactly as the room-append script does. */
export function withSeq(seq: number, body: string): string {
  return `{"seq":${seq},${body.slice(1)}`;
}

export function encodeMessageEvent(m: Message): string {
  return withSeq(m.seq, encodeMessageEventBody(m));
}

/** The seq of an encoded room event, read without parsing the whole frame. */
export function readEventSeq(event: string): number {
  if (!event.startsWith('{"seq":')) throw new Error('not a room event');
  return Number(event.slice(7, event.indexOf(',', 7)));
}

const TYPE_FIELD = ',"type":"message"';

/**
 * The Message JSON that history returns, cut from an encoded message event without parsing it:
 * the event is `{"seq":N,"type":"message",…}` and the Message is the same object without `type`.
 */
export function messageJsonOfEvent(event: string): string {
  const at = event.indexOf(TYPE_FIELD);
  if (at < 0 || at > 30) throw new Error('not a message event');
  return event.slice(0, at) + event.slice(at + TYPE_FIELD.length);
}

const SYSTEM_MARK = '"message_type":"system"';

/**
 * Whose access to the room ends with this event: the member a `member_left` or `member_removed`
 * system message is about, `*` for `room_deleted`, otherwise undefined. Only system messages are
 * parsed: the marker cannot occur unescaped inside a string field.
 */
export function membershipEndOf(event: string): string | undefined {
  if (!event.includes(SYSTEM_MARK)) return undefined;
  const { system } = JSON.parse(event) as Message;
  if (system?.event === 'member_left' || system?.event === 'member_removed') return system.user_id;
  if (system?.event === 'room_deleted') return '*';
  return undefined;
}

/**
 * A read or delivery receipt without its seq and closing brace: the position-mark script appends
 * them, so that the receipt carries the position it actually set.
 */
export function encodeReceiptPrefix(type: 'read_receipt' | 'delivery_receipt', chatId: number, userId: string): string {
  return `{"type":"${type}","chat_id":${chatId},"user_id":${JSON.stringify(userId)},"seq":`;
}

/** Whether a frame published on a room's channel is a room event (with a seq) or a signal. */
export function isRoomEvent(frame: string): boolean {
  return frame.startsWith('{"seq":');
}
