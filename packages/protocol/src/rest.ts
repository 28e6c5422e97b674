import { Type, type Static } from '@sinclair/typebox';
import { Attachment, ChatId, ClientId, Message, Seq, UserId, UserText } from './common.js';
import { AckFrame, MarkReadFrame, ReadStateFrame, SendMessageFrame, UserPresence } from './frames.js';
import { errorCodes } from './errors.js';
import { limits } from './limits.js';

/** Every REST error: fastify's error shape with a catalogue code. */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Union(errorCodes.map((c) => Type.Literal(c))),
  error: Type.String(),
  message: Type.String(),
  /** A refusal that will pass later (SERVICE_UNAVAILABLE, say): how long to wait before trying again, also as `Retry-After`. */
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const ChatType = Type.Union([Type.Literal('direct'), Type.Literal('group')]);

/** A room as the caller sees it (field names follow seed 003). */
export const Chat = Type.Object({
  id: ChatId,
  type: ChatType,
  name: Type.Union([Type.String(), Type.Null()]),
  description: Type.Union([Type.String(), Type.Null()]),
  is_public: Type.Boolean(),
  is_official: Type.Boolean(),
  created_by: UserId,
  created_at: Type.String({ format: 'date-time' }),
  member_count: Type.Integer({ minimum: 0 }),
  is_member: Type.Boolean(),
  is_admin: Type.Boolean(),
  /** The seq of the room's newest message (0 when it has none). */
  head_seq: Seq,
  /** The newest message, for the conversation list; null when the room has none. */
  last_message: Type.Union([Message, Type.Null()]),
});
export type Chat = Static<typeof Chat>;

export const ChatParams = Type.Object({ id: ChatId });

export const CreateDirectChatBody = Type.Object({ type: Type.Literal('direct'), user_id: UserId }, { additionalProperties: false });
export const CreateGroupChatBody = Type.Object(
  {
    type: Type.Literal('group'),
    name: UserText({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(UserText({ maxLength: 500 })),
    is_public: Type.Optional(Type.Boolean({ description: 'default true' })),
    /** Only global admins may set it (ROOM_OFFICIAL_FORBIDDEN otherwise). */
    is_official: Type.Optional(Type.Boolean({ description: 'default false' })),
    member_ids: Type.Optional(Type.Array(UserId, { maxItems: 100, uniqueItems: true })),
  },
  { additionalProperties: false },
);
export const CreateChatBody = Type.Union([CreateDirectChatBody, CreateGroupChatBody]);
export type CreateChatBody = Static<typeof CreateChatBody>;

/**
 * `mine`: the caller's rooms, most recent activity first (the conversation list). `visible`: every
 * public room and the caller's private ones, the same order (room discovery).
 */
export const ChatListQuery = Type.Object(
  {
    scope: Type.Union([Type.Literal('mine'), Type.Literal('visible')], { default: 'mine' }),
    skip: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  },
  { additionalProperties: false },
);
export const ChatList = Type.Object({ chats: Type.Array(Chat) });

export const MemberRole = Type.Union([Type.Literal('admin'), Type.Literal('member')]);
export const AddParticipantBody = Type.Object({ user_id: UserId }, { additionalProperties: false });
export const ParticipantParams = Type.Object({ id: ChatId, user_id: UserId });
/** A room admin promotes; demoting an admin belongs to the creator and global admins. */
export const UpdateParticipantBody = Type.Object({ role: MemberRole }, { additionalProperties: false });
/** A user's display name and avatar (from their token's claims or the service), null where none was given. */
export const Profile = Type.Object({ user_id: UserId, name: Type.Union([Type.String(), Type.Null()]), avatar: Type.Union([Type.String(), Type.Null()]) });
export const Participant = Type.Object({
  chat_id: ChatId,
  user_id: UserId,
  role: MemberRole,
  joined_at: Type.String({ format: 'date-time' }),
  /** The seq up to which the member has read. */
  last_read_seq: Seq,
});
export type Participant = Static<typeof Participant>;
export const ParticipantListQuery = Type.Object(
  {
    skip: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  },
  { additionalProperties: false },
);
/** A member as a room's lists show them: with their name and avatar (seed 003's members carry the user). */
export const Member = Type.Composite([Participant, Type.Omit(Profile, ['user_id'])]);
export const ParticipantList = Type.Object({ participants: Type.Array(Member) });

/**
 * A room with its owner's profile (`creator`: who `created_by` names, null if no user by that id),
 * its first members (up to 100, oldest first) with theirs, and its latest messages (newest first;
 * for members, and for everyone in a public room).
 */
export const ChatDetail = Type.Composite([
  Chat,
  Type.Object({ creator: Type.Union([Profile, Type.Null()]), members: Type.Array(Member), latest_messages: Type.Array(Message) }),
]);
export type ChatDetail = Static<typeof ChatDetail>;

/**
 * History is newest first. `before` pages back from a seq (exclusive); `after` returns the
 * messages that follow a seq (exclusive), the oldest of them first in time but still listed newest first.
 */
export const HistoryQuery = Type.Object(
  {
    before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    after: Type.Optional(Seq),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.historyMaxLimit, default: limits.historyDefaultLimit })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

/**
 * A page is a window of seqs: it lists the messages in it, so a window of only edits and deletions
 * (folded into the messages they change) lists none. Page on with the cursors, never with the seqs
 * of the messages received: `next_before` as `before` pages older, `next_after` as `after` newer;
 * null where nothing lies beyond.
 */
export const HistoryPage = Type.Object({
  messages: Type.Array(Message),
  /** Whether more messages lie beyond this page in the paging direction. */
  has_more: Type.Boolean(),
  head_seq: Seq,
  next_before: Type.Union([Type.Integer({ minimum: 2, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()]),
  next_after: Type.Union([Seq, Type.Null()]),
});
export type HistoryPage = Static<typeof HistoryPage>;

export const MessageParams = Type.Object({ id: ChatId, seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
/** An edit replaces the text; `client_id` makes a retried edit happen once. */
export const EditMessageBody = Type.Object(
  { client_id: ClientId, content: UserText({ minLength: 1, maxLength: limits.contentMaxLength }) },
  { additionalProperties: false },
);

/** Forward message `seq` of room `id` into room `chat_id` (the caller must belong to both). */
export const ForwardMessageBody = Type.Object({ client_id: ClientId, chat_id: ChatId }, { additionalProperties: false });

/** Sending over REST takes the send_message frame's fields, with the room in the path. */
export const SendMessageBody = Type.Omit(SendMessageFrame, ['type', 'chat_id'], { additionalProperties: false });
/** The same answer as the ack frame: 201 when appended, 200 when the client_id was already. */
export const SendMessageResult = Type.Omit(AckFrame, ['type']);

/** Mark a room read up to `seq` (default: its newest event). */
export const MarkReadBody = Type.Pick(MarkReadFrame, ['seq'], { additionalProperties: false });
/** The room's read state after a mark, as the `read_state` frame carries it. */
export const ReadState = Type.Omit(ReadStateFrame, ['type']);
/** Unread counts: per room, the messages of others after last_read_seq still there (no system messages, edits or deletions); and their sum. */
export const UnreadCount = Type.Object({
  total_unread: Type.Integer({ minimum: 0 }),
  chats: Type.Array(Type.Object({ chat_id: ChatId, head_seq: Seq, last_read_seq: Seq, unread: Type.Integer({ minimum: 0 }) })),
});
export type UnreadCount = Static<typeof UnreadCount>;

/** A message's status in a direct room, as its sender sees it (seeds 001, 002). */
export const MessageStatus = Type.Object({
  chat_id: ChatId,
  seq: Seq,
  status: Type.Union([Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('read')]),
});

/** A user as another user sees them: profile (from the token claims) and presence. */
export const Contact = Type.Composite([
  Type.Object({ name: Type.Union([Type.String(), Type.Null()]), avatar: Type.Union([Type.String(), Type.Null()]) }),
  UserPresence,
]);
const directoryPage = {
  skip: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 100 }),
  /** Only users whose id or name starts with this (case-insensitive for names). */
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
};
/** Every user (the service's directory, GET /api/service/users). */
export const DirectoryQuery = Type.Object(directoryPage, { additionalProperties: false });
/** `scope=all`: every user, for global admins (a back office); by default those the caller shares a room with. */
export const ContactListQuery = Type.Object(
  { ...directoryPage, scope: Type.Union([Type.Literal('contacts'), Type.Literal('all')], { default: 'contacts' }) },
  { additionalProperties: false },
);
export const ContactList = Type.Object({ users: Type.Array(Contact) });
/** Online users: how many on the whole service, and which of them share a room with the caller. */
export const OnlineUsers = Type.Object({ online_count: Type.Integer({ minimum: 0 }), users: Type.Array(UserPresence) });
/** Members of a room who are online or away. */
export const RoomOnline = Type.Object({ users: Type.Array(UserPresence) });

/** Per-user stats (seed 001). Message counts come from Postgres, so they trail a send by the persister's lag. */
export const UserStats = Type.Object({
  user_id: UserId,
  rooms: Type.Integer({ minimum: 0 }),
  messages_sent: Type.Integer({ minimum: 0 }),
  messages_received: Type.Integer({ minimum: 0 }),
  total_unread: Type.Integer({ minimum: 0 }),
  online_users: Type.Integer({ minimum: 0 }),
});

/** Mute a room: no offline notifications from it. */
export const MuteBody = Type.Object({ muted: Type.Boolean() }, { additionalProperties: false });
export const MuteState = Type.Object({ chat_id: ChatId, muted: Type.Boolean() });

/** Search my messages: every room I belong to, or one (`chat_id`). */
export const SearchQuery = Type.Object(
  {
    keyword: UserText({ minLength: 1, maxLength: 100 }),
    chat_id: Type.Optional(ChatId),
    skip: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);
/** A user's display name and avatar URL: from their token's claims, or set by the service API. */
/**
 * Profiles by id, in one call: the caller's own, those of users who share a room with the caller,
 * and those of anyone who wrote in one of the caller's rooms (a member who left, say). Ids the
 * caller may not see, or that name nobody, are left out of the answer.
 */
export const ProfileLookupBody = Type.Object(
  { user_ids: Type.Array(UserId, { minItems: 1, maxItems: 100, uniqueItems: true }) },
  { additionalProperties: false },
);
export const ProfileList = Type.Object({ users: Type.Array(Profile) });

export const SearchResult = Type.Object({ messages: Type.Array(Message) });

// ---- server API (/api/service/…, bearer: one of SERVICE_TOKENS) ----------------------------------

/** The service creates a direct room for a pair, or a group room owned by `created_by` (its admin). */
export const ServiceCreateChatBody = Type.Union([
  Type.Object({ type: Type.Literal('direct'), user_ids: Type.Array(UserId, { minItems: 2, maxItems: 2, uniqueItems: true }) }, { additionalProperties: false }),
  Type.Object({ ...CreateGroupChatBody.properties, created_by: UserId }, { additionalProperties: false }),
]);
/** A system message (`system.event` `notice`, `sender_id` null) posted by the service. */
/** Revokes every token carrying this `jti` claim, until `expires_at` (its `exp`; default 7 days). */
export const ServiceRevokeTokenBody = Type.Object(
  { jti: Type.String({ minLength: 1, maxLength: limits.jtiMaxLength }), expires_at: Type.Optional(Type.String({ format: 'date-time' })) },
  { additionalProperties: false },
);
/**
 * The service sets a user's profile (creating the user if new); a field left out stays, null clears
 * it. A token that carries `name` or `avatar` claims sets them in turn, when they differ from the
 * claims the user's earlier tokens carried.
 */
export const ServiceProfileBody = Type.Object(
  {
    name: Type.Optional(Type.Union([UserText({ minLength: 1, maxLength: 100 }), Type.Null()])),
    avatar: Type.Optional(Type.Union([UserText({ minLength: 1, maxLength: 2048 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const ServiceUserParams = Type.Object({ user_id: UserId });
export const ServiceNoticeBody = Type.Pick(SendMessageFrame, ['client_id', 'content'], { additionalProperties: false });

export const DevTokenBody = Type.Object(
  {
    sub: UserId,
    name: Type.Optional(UserText({ maxLength: 100 })),
    role: Type.Optional(UserText({ maxLength: 32 })),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86400, default: 86400 })),
  },
  { additionalProperties: false },
);
export const DevTokenResponse = Type.Object({ token: Type.String(), expires_at: Type.String({ format: 'date-time' }) });

export const Liveness = Type.Object({ status: Type.Literal('ok'), node_id: Type.String() });
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unready')]),
  checks: Type.Object({ redis: Type.Boolean(), postgres: Type.Boolean() }),
});

/** A file uploaded to a room (POST /api/chats/{id}/files), as the upload and the room's file list return it. */
export const FileInfo = Type.Composite([
  Attachment,
  Type.Object({
    chat_id: ChatId,
    uploader_id: UserId,
    /** Hex SHA-256 of the bytes. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    created_at: Type.String({ format: 'date-time' }),
  }),
]);
export type FileInfo = Static<typeof FileInfo>;
export const UploadResult = Type.Object({ files: Type.Array(FileInfo) });
export type UploadResult = Static<typeof UploadResult>;
/** A room's files, newest first; pass `next_before` as `before` for the next page (null at the end). */
export const FilesPage = Type.Object({ files: Type.Array(FileInfo), next_before: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]) });
export const FilesQuery = Type.Object(
  {
    before: Type.Optional(Type.String({ format: 'uuid' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.filesMaxLimit, default: 50 })),
  },
  { additionalProperties: false },
);
export const FileParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
