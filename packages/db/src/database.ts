import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/** users: one row per JWT `sub`, upserted on first sight by the gateway. */
export interface UserTable {
  id: string;
  name: string | null;
  avatar: string | null;
  role: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** rooms: direct rooms (one per pair, keyed by direct_key) and group rooms. */
export interface RoomTable {
  id: Generated<number>;
  type: 'direct' | 'group';
  name: string | null;
  description: string | null;
  is_public: boolean;
  is_official: boolean;
  /** `<len>:<a>|<b>` of the two user ids in sorted order; null for group rooms. */
  direct_key: string | null;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Set when the room is deleted; a deleted room has no members and is never listed. */
  deleted_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Kept in step with room_members by every membership change. */
  member_count: ColumnType<number, number | undefined, number>;
  /** Time of the newest message the persister has written (the conversation list's order). */
  last_message_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** room_members: who belongs to a room, with a role and the last seq they have read. */
export interface RoomMemberTable {
  room_id: number;
  user_id: string;
  role: 'admin' | 'member';
  joined_at: Timestamp;
  last_read_seq: ColumnType<number, number | undefined, number>;
  last_delivered_seq: ColumnType<number, number | undefined, number>;
  muted: ColumnType<boolean, boolean | undefined, boolean>;
}

/** The state a system message announces (the protocol's SystemInfo). */
export interface SystemColumn {
  event: string;
  user_id?: string;
  actor_id?: string;
}

type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

/**
 * messages: every room event, written by the persister; (room_id, seq) is the room's order. A
 * `message` row holds its current state (edited, deleted); `edit` and `delete` rows are the events
 * that changed the message at `target_seq`, kept so that resume replays them.
 */
export interface MessageTable {
  room_id: number;
  seq: number;
  id: string;
  /** Null only for system messages posted by the service. */
  sender_id: string | null;
  client_id: string;
  kind: ColumnType<'message' | 'edit' | 'delete', 'message' | 'edit' | 'delete' | undefined, 'message' | 'edit' | 'delete'>;
  target_seq: Nullable<number>;
  type: string;
  content: string;
  system: Nullable<SystemColumn>;
  attachment: Nullable<Record<string, unknown>>;
  forwarded_from: Nullable<Record<string, unknown>>;
  created_at: Timestamp;
  edited_at: Nullable<Date>;
  deleted_at: Nullable<Date>;
  deleted_by: Nullable<string>;
  recalled: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface FileTable {
  id: string;
  room_id: number;
  uploader_id: string;
  name: string;
  size: number;
  mime_type: string;
  sha256: string;
  storage_key: string;
  created_at: Timestamp;
  hidden_at: Nullable<Date>;
}

export interface Database {
  users: UserTable;
  rooms: RoomTable;
  room_members: RoomMemberTable;
  messages: MessageTable;
  files: FileTable;
}

export type UserRow = Selectable<UserTable>;
export type RoomRow = Selectable<RoomTable>;
export type MessageRow = Selectable<MessageTable>;
export type NewMessage = Insertable<MessageTable>;
export type FileRow = Selectable<FileTable>;
export type NewFile = Insertable<FileTable>;
