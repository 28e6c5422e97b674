import { Type, type Static, type StringOptions } from '@sinclair/typebox';
import { limits } from './limits.js';

/** Text a user writes (message content, room names): any characters but NUL, which Postgres cannot store. */
export const UserText = (options: StringOptions) => Type.String({ ...options, pattern: '^[^\\u0000]*$' });

/** A room id: a positive integer assigned by Postgres. */
export const ChatId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
/** A position in a room's order: 1, 2, 3… (0 means "before the first message"). */
export const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A user id: the `sub` claim of the customer's JWT, opaque (numeric ids and UUIDs both occur). */
export const UserId = UserText({ minLength: 1, maxLength: limits.userIdMaxLength });
/** An idempotency key chosen by the client; resending it never creates a second message. */
export const ClientId = Type.String({
  minLength: 1,
  maxLength: limits.clientIdMaxLength,
  pattern: '^[A-Za-z0-9._:-]+$',
});
/** Message types a user may send; `system` messages come only from the server. */
export const SendableMessageType = Type.Union([
  Type.Literal('text'),
  Type.Literal('image'),
  Type.Literal('file'),
  Type.Literal('audio'),
  Type.Literal('video'),
]);
export const MessageType = Type.Union([...SendableMessageType.anyOf, Type.Literal('system')]);
export type MessageType = Static<typeof MessageType>;

/**
 * What a system message announces. Membership events take effect at their place in the room's
 * order: a member removed (or leaving) receives that message and nothing after it; `room_deleted`
 * ends every member's access the same way.
 */
export const SystemEventName = Type.Union([
  Type.Literal('member_joined'),
  Type.Literal('member_added'),
  Type.Literal('member_left'),
  Type.Literal('member_removed'),
  Type.Literal('member_promoted'),
  Type.Literal('member_demoted'),
  Type.Literal('room_deleted'),
  Type.Literal('notice'),
]);
export type SystemEventName = Static<typeof SystemEventName>;
export const SystemInfo = Type.Object({
  event: SystemEventName,
  /** The member the event is about. */
  user_id: Type.Optional(UserId),
  /** Who did it, when not the member themself (an admin, or absent for the service). */
  actor_id: Type.Optional(UserId),
});
export type SystemInfo = Static<typeof SystemInfo>;

/** Where a forwarded message came from: the original (a forward of a forward points at the first). */
export const ForwardedFrom = Type.Object({
  chat_id: ChatId,
  seq: Seq,
  id: Type.String({ format: 'uuid' }),
  sender_id: Type.Union([UserId, Type.Null()]),
});
export type ForwardedFrom = Static<typeof ForwardedFrom>;

/**
 * The file a message carries (image, file, audio or video): uploaded to the room first, then
 * referenced by `file_id`. `url` downloads it (members only). Absent once the message is deleted.
 */
export const Attachment = Type.Object({
  id: Type.String({ format: 'uuid' }),
  /** The original file name, sanitised: no path, no control or bidirectional-override characters. */
  name: Type.String({ maxLength: limits.fileNameMaxLength }),
  size: Type.Integer({ minimum: 0 }),
  /** Sniffed from the bytes, not taken from the uploader. */
  mime_type: Type.String(),
  url: Type.String(),
});
export type Attachment = Static<typeof Attachment>;

/** A message as history returns it; the `message` event adds `type`. */
export const Message = Type.Object({
  seq: Seq,
  chat_id: ChatId,
  id: Type.String({ format: 'uuid' }),
  /** Null only for system messages the service posts. */
  sender_id: Type.Union([UserId, Type.Null()]),
  client_id: ClientId,
  message_type: MessageType,
  content: Type.String({ maxLength: limits.contentMaxLength }),
  created_at: Type.String({ format: 'date-time' }),
  /** Present on system messages. */
  system: Type.Optional(SystemInfo),
  /** Present on a copy forwarded from another room. */
  forwarded_from: Type.Optional(ForwardedFrom),
  /** The uploaded file an image, file, audio or video message carries. */
  attachment: Type.Optional(Attachment),
  /** Present once the sender edited the message (`content` is then the latest text). */
  edited_at: Type.Optional(Type.String({ format: 'date-time' })),
  /** Present once deleted or recalled: a tombstone, `content` empty. */
  deleted_at: Type.Optional(Type.String({ format: 'date-time' })),
  deleted_by: Type.Optional(UserId),
  /** True when the sender recalled it (within the recall window), false when it was deleted. */
  recalled: Type.Optional(Type.Boolean()),
});
export type Message = Static<typeof Message>;
