import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ChatId, ClientId, Message, Seq, SendableMessageType, UserId, UserText } from './common.js';
import { limits } from './limits.js';
import { errorCodes } from './errors.js';

// ---- client -> server -------------------------------------------------------------------------

/** First frame of every connection: which rooms to resume, and from which seq. */
export const HelloFrame = Type.Object(
  {
    type: Type.Literal('hello'),
    /** The `epoch` of the welcome under which the resumed seqs were received. */
    epoch: Type.Optional(Type.String({ maxLength: 64, pattern: '^[0-9a-f]*$' })),
    resume: Type.Optional(
      Type.Array(Type.Object({ chat_id: ChatId, last_seq: Seq }, { additionalProperties: false }), {
        maxItems: limits.resumeMaxRooms,
      }),
    ),
  },
  { additionalProperties: false },
);

/**
 * Send a message; answered by `ack` (or `error` with the same client_id). An image, file, audio or
 * video message may carry a file uploaded to the room (`file_id`); its content (a caption) may then
 * be empty.
 */
export const SendMessageFrame = Type.Object(
  {
    type: Type.Literal('send_message'),
    client_id: ClientId,
    chat_id: ChatId,
    message_type: SendableMessageType,
    content: UserText({ maxLength: limits.contentMaxLength }),
    file_id: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);

/**
 * I have read the room up to `seq` (default: its newest event). A read position only moves forward;
 * a change is answered by `read_state` on every socket of the user and a `read_receipt` to the room.
 */
export const MarkReadFrame = Type.Object(
  {
    type: Type.Literal('mark_read'),
    chat_id: ChatId,
    seq: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);

/**
 * My client has received the direct room up to `seq`: the sender sees the message delivered. Only in
 * direct rooms (`ROOM_NOT_DIRECT` otherwise); answered by nothing, but the room gets a
 * `delivery_receipt` when the position moves.
 */
export const ReceivedFrame = Type.Object(
  {
    type: Type.Literal('received'),
    chat_id: ChatId,
    seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);

/** This socket's presence: `away` when the user is idle (a hidden tab, say), `online` again when back. */
export const SetPresenceFrame = Type.Object(
  { type: Type.Literal('set_presence'), state: Type.Union([Type.Literal('online'), Type.Literal('away')]) },
  { additionalProperties: false },
);

/** I am typing in the room (`start`, repeated while typing) or stopped (`stop`). Relayed, never stored. */
export const TypingFrame = Type.Object(
  { type: Type.Literal('typing'), chat_id: ChatId, state: Type.Union([Type.Literal('start'), Type.Literal('stop')]) },
  { additionalProperties: false },
);

/**
 * A fresh token for this connection, sent before the current one expires (the socket is closed with
 * 4102 at its `exp` otherwise). It must name the same user; answered by `token_refreshed`.
 */
export const RefreshTokenFrame = Type.Object(
  { type: Type.Literal('refresh_token'), token: Type.String({ minLength: 1, maxLength: limits.tokenMaxLength }) },
  { additionalProperties: false },
);

/** Application-level keepalive for clients that cannot send WebSocket pings (browsers). */
export const PingFrame = Type.Object({ type: Type.Literal('ping') }, { additionalProperties: false });

/** Every frame a client may send, by type. The gateway has one handler per entry. */
export const clientFrames = {
  hello: HelloFrame,
  send_message: SendMessageFrame,
  mark_read: MarkReadFrame,
  received: ReceivedFrame,
  set_presence: SetPresenceFrame,
  typing: TypingFrame,
  refresh_token: RefreshTokenFrame,
  ping: PingFrame,
} as const satisfies Record<string, TSchema>;

export type ClientFrameType = keyof typeof clientFrames;
export type ClientFrame = { [K in ClientFrameType]: Static<(typeof clientFrames)[K]> }[ClientFrameType];

// ---- server -> client -------------------------------------------------------------------------

/** Answer to hello: the rooms this connection receives, each with its head seq at that moment. */
export const WelcomeFrame = Type.Object({
  type: Type.Literal('welcome'),
  user_id: UserId,
  node_id: Type.String(),
  /** Each room with its head seq and the user's read position (unread counts: GET /api/unread-count, read_state). */
  chats: Type.Array(Type.Object({ chat_id: ChatId, head_seq: Seq, last_read_seq: Seq })),
  /** When the connection's token expires: send `refresh_token` before then. */
  token_expires_at: Type.String({ format: 'date-time' }),
  /** Which Redis the seqs come from; send it back in the next `hello` that resumes. */
  epoch: Type.String(),
});

/** A message in a room, in seq order. Backfilled and live messages have the same shape. */
export const MessageEvent = Type.Composite([Type.Object({ type: Type.Literal('message') }), Message]);

/** The message with this client_id is durable (in the Redis stream) with this id and seq. */
export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  client_id: ClientId,
  chat_id: ChatId,
  id: Type.String({ format: 'uuid' }),
  seq: Seq,
  created_at: Type.String({ format: 'date-time' }),
  /** True when this client_id had already been accepted: the original id and seq are returned. */
  duplicate: Type.Boolean(),
});

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.Union(errorCodes.map((c) => Type.Literal(c))),
  message: Type.String(),
  /** Present when the error answers a send_message frame. */
  client_id: Type.Optional(Type.String()),
  /** With `RATE_LIMITED`: how long to wait before sending the refused message again. */
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
});

/**
 * The gap since `last_seq` is longer than the server replays. Live messages continue after
 * `head_seq`; page history with `after=last_seq` up to `head_seq` to fill the gap.
 */
export const ResumeTooFarFrame = Type.Object({
  type: Type.Literal('resume_too_far'),
  chat_id: ChatId,
  last_seq: Seq,
  head_seq: Seq,
});

/**
 * Redis lost the room's newest events (a machine crash under `appendfsync everysec`): its head went
 * back to `head_seq`, below what this connection was sent. Events after `head_seq` already received
 * no longer exist; the room's next events reuse their seqs. Drop them, and go on from `head_seq`.
 */
export const ChatRewoundFrame = Type.Object({
  type: Type.Literal('chat_rewound'),
  chat_id: ChatId,
  head_seq: Seq,
});

/** This connection now receives a room it was added to; messages after `head_seq` follow. */
export const ChatAddedFrame = Type.Object({
  type: Type.Literal('chat_added'),
  chat_id: ChatId,
  head_seq: Seq,
});

/**
 * A message was edited or deleted: an event of the room with its own seq, so resume replays it.
 * `message_seq` is the message changed. History shows the message's current state (`edited_at`, or a
 * tombstone with `deleted_at`).
 */
const changeFields = {
  seq: Seq,
  chat_id: ChatId,
  /** This event's own id. */
  id: Type.String({ format: 'uuid' }),
  /** Who made the change. */
  sender_id: UserId,
  client_id: ClientId,
  message_seq: Seq,
  created_at: Type.String({ format: 'date-time' }),
};
export const MessageEditedEvent = Type.Object({
  type: Type.Literal('message_edited'),
  ...changeFields,
  /** The new text; empty once the message was later deleted. */
  content: Type.String({ maxLength: limits.contentMaxLength }),
});
export const MessageDeletedEvent = Type.Object({
  type: Type.Literal('message_deleted'),
  ...changeFields,
  recalled: Type.Boolean(),
});
export type MessageChangeEvent = Static<typeof MessageEditedEvent> | Static<typeof MessageDeletedEvent>;

/**
 * The user's read position in a room moved (on this socket or another, on any gateway): the room's
 * unread count and the user's total, as of the change.
 */
export const ReadStateFrame = Type.Object({
  type: Type.Literal('read_state'),
  chat_id: ChatId,
  last_read_seq: Seq,
  unread: Type.Integer({ minimum: 0 }),
  total_unread: Type.Integer({ minimum: 0 }),
});

const receipt = <T extends string>(type: T) => Type.Object({ type: Type.Literal(type), chat_id: ChatId, user_id: UserId, seq: Seq });
/** A member of the room has read it up to `seq` (published to the room when a position moves). */
export const ReadReceiptFrame = receipt('read_receipt');
/** In a direct room: the member's client has received it up to `seq`. */
export const DeliveryReceiptFrame = receipt('delivery_receipt');

export const PresenceState = Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('offline')]);
/** A user's presence over all their sockets on all gateways, with when they were last online. */
export const UserPresence = Type.Object({
  user_id: UserId,
  state: PresenceState,
  /** Null while online, or for a user never seen. */
  last_seen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type UserPresence = Static<typeof UserPresence>;

/**
 * Members of the room changed presence (sent to each room the user is in): the changes a gateway saw
 * within a quarter second, each member once with their newest state.
 */
export const PresenceEvent = Type.Object({ type: Type.Literal('presence'), chat_id: ChatId, users: Type.Array(UserPresence, { minItems: 1 }) });

/** A member is typing in the room, or stopped. A `start` holds for `expires_in_ms` unless repeated. */
export const TypingEvent = Type.Object({
  type: Type.Literal('typing'),
  chat_id: ChatId,
  user_id: UserId,
  state: Type.Union([Type.Literal('start'), Type.Literal('stop')]),
  expires_in_ms: Type.Integer({ minimum: 0 }),
});

export const PongFrame = Type.Object({ type: Type.Literal('pong') });

/** The connection now runs on the refreshed token, until `expires_at`. */
export const TokenRefreshedFrame = Type.Object({ type: Type.Literal('token_refreshed'), expires_at: Type.String({ format: 'date-time' }) });

export const serverFrames = {
  welcome: WelcomeFrame,
  message: MessageEvent,
  message_edited: MessageEditedEvent,
  message_deleted: MessageDeletedEvent,
  ack: AckFrame,
  error: ErrorFrame,
  resume_too_far: ResumeTooFarFrame,
  chat_rewound: ChatRewoundFrame,
  chat_added: ChatAddedFrame,
  read_state: ReadStateFrame,
  read_receipt: ReadReceiptFrame,
  delivery_receipt: DeliveryReceiptFrame,
  presence: PresenceEvent,
  typing: TypingEvent,
  pong: PongFrame,
  token_refreshed: TokenRefreshedFrame,
} as const satisfies Record<string, TSchema>;

export type ServerFrameType = keyof typeof serverFrames;
export type ServerFrame = { [K in ServerFrameType]: Static<(typeof serverFrames)[K]> }[ServerFrameType];
export type ServerFrameOf<K extends ServerFrameType> = Static<(typeof serverFrames)[K]>;
export type ClientFrameOf<K extends ClientFrameType> = Static<(typeof clientFrames)[K]>;
