import type { Message } from './common.js';
import type { MessageChangeEvent, ServerFrameOf } from './frames.js';

/**
 * The room event's codec: its wire encoding, and every read of an encoded event's fields. Nothing
 * else in the services or the Lua scripts reads event JSON (room-event-codec.unit.test.ts checks).
 *
 * An encoded room event is `{"seq":N,"type":"…",…}`. The seq comes first because the Redis script
 * that assigns it puts it between a head and a tail this codec gives it (eventAroundSeq); history
 * and backfill encode with the same functions, so that a backfilled event is byte-identical to the
 * live one. Reads that run for every relayed event (seq, kind, created_at) cut the few bytes they
 * need; the rest parse.
 */

/** A room event as its JSON decodes: a message or an edit or deletion. */
export type DecodedRoomEvent = (Message & { type: 'message' }) | MessageChangeEvent;
export type RoomEventKind = DecodedRoomEvent['type'];

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
 * The wire encoding of an edit or deletion without its seq (which the append script puts in), in
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

const SEQ_HEAD = '{"seq":';

/** An event body (its JSON without `seq`) as the head and tail the append script puts the seq between. */
export function eventAroundSeq(body: string): [head: string, tail: string] {
  if (!body.startsWith('{') || body === '{}') throw new Error('an event body is a non-empty JSON object');
  return [SEQ_HEAD, `,${body.slice(1)}`];
}

/** The event of `body` at `seq`, exactly as the room-append script writes it. */
export function withSeq(seq: number, body: string): string {
  const [head, tail] = eventAroundSeq(body);
  return head + seq + tail;
}

export function encodeMessageEvent(m: Message): string {
  return withSeq(m.seq, encodeMessageEventBody(m));
}

/** A frame published on a room's channel outside its order: no seq, never stored (receipts come from position-mark.lua). */
export type RoomSignal = ServerFrameOf<'typing'> | ServerFrameOf<'presence'>;

/** A signal's wire encoding: its frame, typed; it never begins as a room event does. */
export function encodeRoomSignal(signal: RoomSignal): string {
  return JSON.stringify(signal);
}

/** Whether a frame published on a room's channel is a room event (with a seq) or a signal. */
export function isRoomEvent(frame: string): boolean {
  return frame.startsWith(SEQ_HEAD);
}

/** The seq of an encoded room event, read without parsing the whole frame. */
export function readEventSeq(event: string): number {
  if (!isRoomEvent(event)) throw new Error('not a room event');
  return Number(event.slice(SEQ_HEAD.length, event.indexOf(',', SEQ_HEAD.length)));
}

const TYPE_FIELD = ',"type":"';

/** The kind of an encoded room event: its `type`, which follows the seq. */
export function readEventKind(event: string): RoomEventKind {
  const at = event.indexOf(TYPE_FIELD);
  if (!isRoomEvent(event) || at < 0 || at > 30) throw new Error('not a room event');
  const start = at + TYPE_FIELD.length;
  return event.slice(start, event.indexOf('"', start)) as RoomEventKind;
}

/** Whether an encoded room event is a message (not an edit or deletion). */
export function isMessageEvent(event: string): boolean {
  return readEventKind(event) === 'message';
}

/** A room event as its fields, or undefined if it is not JSON (the persister sets such entries aside). */
export function decodeRoomEvent(event: string): DecodedRoomEvent | undefined {
  try {
    return JSON.parse(event) as DecodedRoomEvent;
  } catch {
    return undefined;
  }
}

/** The Message of a message event (the event without its `type`). */
export function messageOfEvent(event: string): Message {
  const { type: _type, ...message } = JSON.parse(event) as Message & { type: string };
  return message;
}

/** The seq of the message an edit or deletion changes. */
export function changeTargetOf(event: string): number {
  return (JSON.parse(event) as MessageChangeEvent).message_seq;
}

/** An edit event with its text emptied: how history shows the edits of a message deleted since. */
export function withEditTextEmptied(event: string): string {
  return JSON.stringify({ ...(JSON.parse(event) as MessageChangeEvent), content: '' });
}

const MESSAGE_TYPE_FIELD = ',"type":"message"';

/**
 * The Message JSON that history returns, cut from an encoded message event without parsing it:
 * the event is `{"seq":N,"type":"message",…}` and the Message is the same object without `type`.
 */
export function messageJsonOfEvent(event: string): string {
  const at = event.indexOf(MESSAGE_TYPE_FIELD);
  if (at < 0 || at > 30) throw new Error('not a message event');
  return event.slice(0, at) + event.slice(at + MESSAGE_TYPE_FIELD.length);
}

/**
 * A page of history (HistoryPage) assembled from its messages' JSON (messageJsonOfEvent), newest
 * first, rather than parsed and serialized again.
 */
export function encodeHistoryPage(
  messagesJson: string[],
  page: { has_more: boolean; head_seq: number; next_before: number | null; next_after: number | null },
): string {
  const rest = JSON.stringify(page);
  return `{"messages":[${messagesJson.join(',')}],${rest.slice(1)}`;
}

const CREATED_AT_FIELD = '"created_at":"';

/** An event's created_at in ms since the epoch (its gateway's clock), read without parsing the event. */
export function readEventCreatedAt(event: string): number | undefined {
  const at = event.indexOf(CREATED_AT_FIELD);
  if (at < 0) return undefined;
  const start = at + CREATED_AT_FIELD.length;
  const ms = Date.parse(event.slice(start, event.indexOf('"', start)));
  return Number.isNaN(ms) ? undefined : ms;
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
 * A read or delivery receipt as the head and tail the position-mark script puts the seq between,
 * so that the receipt carries the position it actually set.
 */
export function receiptAroundSeq(type: 'read_receipt' | 'delivery_receipt', chatId: number, userId: string): [head: string, tail: string] {
  return [`{"type":"${type}","chat_id":${chatId},"user_id":${JSON.stringify(userId)},"seq":`, '}'];
}

const FRAME_TYPE_FIELD = '"type":"';

/** The `type` of any encoded server frame (a room event, a receipt, a signal), read without parsing it. */
export function frameTypeOf(frame: string): string {
  const at = frame.indexOf(FRAME_TYPE_FIELD);
  if (at < 0) return 'unknown';
  const start = at + FRAME_TYPE_FIELD.length;
  return frame.slice(start, frame.indexOf('"', start));
}
