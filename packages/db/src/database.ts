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
}

/** room_members: who belongs to a room, with a role and the last seq they have read. */
export interface RoomMemberTable {
  room_id: number;
  user_id: string;
  role: 'admin' | 'member';
  joined_at: Timestamp;
  last_read_seq: ColumnType<number, number | undefined, number>;
}

/** messages: every message, written by the persister; (room_id, seq) is the room's order. */
export interface MessageTable {
  room_id: number;
  seq: number;
  id: string;
  sender_id: string;
  client_id: string;
  type: string;
  content: string;
  created_at: Timestamp;
}

export interface Database {
  users: UserTable;
  rooms: RoomTable;
  room_members: RoomMemberTable;
  messages: MessageTable;
}

export type UserRow = Selectable<UserTable>;
export type RoomRow = Selectable<RoomTable>;
export type MessageRow = Selectable<MessageTable>;
export type NewMessage = Insertable<MessageTable>;
