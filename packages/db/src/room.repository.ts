import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, RoomRow } from './database.js';
import { ensureUsers } from './user.repository.js';

export type MemberRole = 'admin' | 'member';

/** The key that makes a direct room unique per pair, whichever user asks first. */
export function directKey(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `${x.length}:${x}|${y}`;
}

/** Returns the pair's direct room, creating it (and both memberships) on first call. */
export async function createDirectRoom(db: Kysely<Database>, userId: string, peerId: string) {
  return db.transaction().execute(async (trx) => {
    await ensureUsers(trx, [userId, peerId]);
    const key = directKey(userId, peerId);
    const inserted = await trx
      .insertInto('rooms')
      .values({ type: 'direct', direct_key: key, created_by: userId, is_public: false, is_official: false, name: null, description: null, member_count: 2 })
      .onConflict((oc) => oc.column('direct_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    const room = inserted ?? (await trx.selectFrom('rooms').selectAll().where('direct_key', '=', key).executeTakeFirstOrThrow());
    if (inserted) {
      await trx
        .insertInto('room_members')
        .values([userId, peerId].map((user_id) => ({ room_id: room.id, user_id, role: 'member' as const })))
        .execute();
    }
    return { room, created: inserted !== undefined };
  });
}

export interface NewGroupRoom {
  name: string;
  description?: string | null;
  isPublic: boolean;
  isOfficial?: boolean;
  memberIds: string[];
}

/** Creates a group room; the creator is its admin, the listed users its members. */
export async function createGroupRoom(db: Kysely<Database>, creatorId: string, group: NewGroupRoom): Promise<RoomRow> {
  return db.transaction().execute(async (trx) => {
    const others = group.memberIds.filter((id) => id !== creatorId);
    await ensureUsers(trx, [creatorId, ...others]);
    const room = await trx
      .insertInto('rooms')
      .values({
        type: 'group',
        name: group.name,
        description: group.description ?? null,
        is_public: group.isPublic,
        is_official: group.isOfficial ?? false,
        direct_key: null,
        created_by: creatorId,
        member_count: others.length + 1,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('room_members')
      .values([
        { room_id: room.id, user_id: creatorId, role: 'admin' as const },
        ...others.map((user_id) => ({ room_id: room.id, user_id, role: 'member' as const })),
      ])
      .execute();
    return room;
  });
}

/**
 * Locks the room's row for a membership change, before any member row. The persister's batch
 * takes its locks in the same order (rooms in touchRooms, then members in applyPositionMarks): a
 * member row locked first would deadlock with a batch marking that member's read position.
 */
async function lockRoom(trx: Transaction<Database>, roomId: number): Promise<void> {
  await trx.selectFrom('rooms').select('id').where('id', '=', roomId).forNoKeyUpdate().execute();
}

/** Adds a member; `added` is false when the user already was one. */
export async function addRoomMember(db: Kysely<Database>, roomId: number, userId: string, role: MemberRole) {
  return db.transaction().execute(async (trx) => {
    await lockRoom(trx, roomId);
    await ensureUsers(trx, [userId]);
    const row = await trx
      .insertInto('room_members')
      .values({ room_id: roomId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['room_id', 'user_id']).doNothing())
      .returningAll()
      .executeTakeFirst();
    const member = row ?? (await findRoomMember(trx, roomId, userId))!;
    if (row)
      await trx
        .updateTable('rooms')
        .set((eb) => ({ member_count: eb('member_count', '+', 1) }))
        .where('id', '=', roomId)
        .execute();
    return { member, added: row !== undefined };
  });
}

/** Removes a member; false when the user was not one. */
export async function removeRoomMember(db: Kysely<Database>, roomId: number, userId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockRoom(trx, roomId);
    const row = await trx.deleteFrom('room_members').where('room_id', '=', roomId).where('user_id', '=', userId).returning('user_id').executeTakeFirst();
    if (row)
      await trx
        .updateTable('rooms')
        .set((eb) => ({ member_count: eb('member_count', '-', 1) }))
        .where('id', '=', roomId)
        .execute();
    return row !== undefined;
  });
}

/**
 * After `formerOwner` left a group they created, ownership (`created_by`) passes to the
 * longest-standing admin, else to the longest-standing member, who becomes an admin. Returns the new
 * owner and whether they were promoted; undefined when the room had another owner or no one is left.
 */
export async function passOwnership(db: Kysely<Database>, roomId: number, formerOwner: string): Promise<{ owner: string; promoted: boolean } | undefined> {
  return db.transaction().execute(async (trx) => {
    const room = await trx.selectFrom('rooms').select('created_by').where('id', '=', roomId).where('type', '=', 'group').forUpdate().executeTakeFirst();
    if (room?.created_by !== formerOwner) return undefined;
    const heir = await trx
      .selectFrom('room_members')
      .select(['user_id', 'role'])
      .where('room_id', '=', roomId)
      .orderBy(sql`role = 'admin'`, 'desc')
      .orderBy('joined_at')
      .orderBy('user_id')
      .limit(1)
      .executeTakeFirst();
    if (!heir) return undefined;
    await trx.updateTable('rooms').set({ created_by: heir.user_id }).where('id', '=', roomId).execute();
    if (heir.role !== 'admin') await setMemberRole(trx, roomId, heir.user_id, 'admin');
    return { owner: heir.user_id, promoted: heir.role !== 'admin' };
  });
}

/** Sets a member's role; returns the updated member, or undefined when the user is not a member. */
export async function setMemberRole(db: Kysely<Database>, roomId: number, userId: string, role: MemberRole) {
  return db.updateTable('room_members').set({ role }).where('room_id', '=', roomId).where('user_id', '=', userId).returningAll().executeTakeFirst();
}

/** One member of a room, or undefined. */
export async function findRoomMember(db: Kysely<Database>, roomId: number, userId: string) {
  return db.selectFrom('room_members').selectAll().where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
}

/**
 * Marks the room deleted and ends every membership; returns the former members. A direct room gives
 * up its pair key, so that the pair can open a new room.
 */
export async function deleteRoom(db: Kysely<Database>, roomId: number): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await trx.updateTable('rooms').set({ deleted_at: new Date(), member_count: 0, direct_key: null }).where('id', '=', roomId).execute();
    const rows = await trx.deleteFrom('room_members').where('room_id', '=', roomId).returning('user_id').execute();
    return rows.map((r) => r.user_id);
  });
}

/** A room that exists and is not deleted. */
export async function findRoom(db: Kysely<Database>, roomId: number): Promise<RoomRow | undefined> {
  return db.selectFrom('rooms').selectAll().where('id', '=', roomId).where('deleted_at', 'is', null).executeTakeFirst();
}

export async function memberRole(db: Kysely<Database>, roomId: number, userId: string): Promise<MemberRole | undefined> {
  const row = await db.selectFrom('room_members').select('role').where('room_id', '=', roomId).where('user_id', '=', userId).executeTakeFirst();
  return row?.role;
}

/** The member ids of each of the rooms (a room without members, or no such room: an empty list). */
export async function memberIdsOfRooms(db: Kysely<Database>, roomIds: number[]): Promise<Map<number, string[]>> {
  const members = new Map(roomIds.map((id) => [id, [] as string[]]));
  if (roomIds.length === 0) return members;
  const rows = await db.selectFrom('room_members').select(['room_id', 'user_id']).where('room_id', 'in', roomIds).execute();
  for (const r of rows) members.get(r.room_id)?.push(r.user_id);
  return members;
}

export async function roomIdsOfUser(db: Kysely<Database>, userId: string): Promise<number[]> {
  const rows = await db.selectFrom('room_members').select('room_id').where('user_id', '=', userId).execute();
  return rows.map((r) => r.room_id);
}

/** Most recent activity first: the newest persisted message, or the room's creation. */
const byActivity = sql`coalesce(r.last_message_at, r.created_at) desc, r.id desc`;

/** The rooms a user belongs to, with the user's role, most recent activity first. */
export async function listRoomsOfUser(db: Kysely<Database>, userId: string, limit: number, skip: number) {
  return db
    .selectFrom('room_members as me')
    .innerJoin('rooms as r', 'r.id', 'me.room_id')
    .selectAll('r')
    .select('me.role')
    .where('me.user_id', '=', userId)
    .orderBy(byActivity)
    .limit(limit)
    .offset(skip)
    .execute();
}

/** Every public room and the user's own, with the user's role where a member, most recent activity first. */
export async function listVisibleRooms(db: Kysely<Database>, userId: string, limit: number, skip: number) {
  return db
    .selectFrom('rooms as r')
    .leftJoin('room_members as me', (j) => j.onRef('me.room_id', '=', 'r.id').on('me.user_id', '=', userId))
    .selectAll('r')
    .select('me.role')
    .where('r.deleted_at', 'is', null)
    .where((eb) => eb.or([eb('r.is_public', '=', true), eb('me.user_id', 'is not', null)]))
    .orderBy(byActivity)
    .limit(limit)
    .offset(skip)
    .execute();
}

/** A room's members, oldest first, each with their profile (name and avatar, null where none). */
export async function listRoomMembers(db: Kysely<Database>, roomId: number, limit: number, skip: number) {
  return db
    .selectFrom('room_members as m')
    .leftJoin('users as u', 'u.id', 'm.user_id')
    .selectAll('m')
    .select(['u.name', 'u.avatar'])
    .where('m.room_id', '=', roomId)
    .orderBy('m.joined_at')
    .orderBy('m.user_id')
    .limit(limit)
    .offset(skip)
    .execute();
}

/** Moves each room's last activity forward to the time of its newest persisted message. */
export async function touchRooms(db: Kysely<Database>, latest: Map<number, string>): Promise<void> {
  if (latest.size === 0) return;
  await sql`
    update rooms r set last_message_at = v.at
    from unnest(${[...latest.keys()]}::bigint[], ${[...latest.values()]}::timestamptz[]) as v(id, at)
    where r.id = v.id and (r.last_message_at is null or r.last_message_at < v.at)`.execute(db);
}

/** The members of these rooms who have not muted them: who an offline notification may go to. */
export async function offlineCandidates(db: Kysely<Database>, roomIds: number[]): Promise<Array<{ room_id: number; user_id: string }>> {
  if (roomIds.length === 0) return [];
  return db.selectFrom('room_members').select(['room_id', 'user_id']).where('room_id', 'in', roomIds).where('muted', '=', false).execute();
}
