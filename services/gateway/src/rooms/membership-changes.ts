import type { GatewayCore } from '../core.js';
import {
  addRoomMember,
  deleteRoom,
  findRoom,
  memberRole,
  passOwnership,
  removeRoomMember,
  setMemberRole,
  type Database,
  type MemberRole,
  type RoomRow,
} from '@parley/db';
import type { Selectable } from 'kysely';
import { ParleyError } from '@parley/protocol';
import type { Caller } from '../plugins/auth.js';
import { appendMembershipEvent, type MembershipEvent } from '../messages/append-message.js';
import { markRead } from './read-state.js';

export interface RoomAccess {
  room: RoomRow;
  /** The caller's role, or undefined when not a member. */
  role: MemberRole | undefined;
}

/** The room (404 when missing or deleted) and the caller's role in it. */
export async function roomAccess(core: GatewayCore, roomId: number, caller: Caller): Promise<RoomAccess> {
  const [room, role] = await Promise.all([findRoom(core.db, roomId), memberRole(core.db, roomId, caller.id)]);
  if (!room) throw new ParleyError('ROOM_NOT_FOUND');
  return { room, role };
}

/** A room's metadata and members are visible to its members, to everyone when public, and to global admins. */
export function requireVisible({ room, role }: RoomAccess, caller: Caller): void {
  if (!role && !room.is_public && !caller.isAdmin) throw new ParleyError('ROOM_NOT_MEMBER');
}

/** Group rooms are managed by their admins and by global admins; a direct room has no managers. */
export function requireRoomAdmin({ room, role }: RoomAccess, caller: Caller): void {
  if (room.type === 'direct') throw new ParleyError('ROOM_DIRECT_MEMBERS');
  if (caller.isAdmin || role === 'admin') return;
  throw new ParleyError(role ? 'ROOM_NOT_ADMIN' : 'ROOM_NOT_MEMBER');
}

/**
 * Deleting the room, and removing or demoting an admin, belong to its owner (its creator, or whom
 * ownership passed to) and to global admins. Rights follow membership and role at the moment of the
 * request: an owner removed from the room, or demoted, has none left.
 */
export function requireCreator({ room, role }: RoomAccess, caller: Caller): void {
  if (caller.isAdmin) return;
  if (room.created_by !== caller.id) throw new ParleyError('ROOM_NOT_CREATOR');
  if (role !== 'admin') throw new ParleyError(role ? 'ROOM_NOT_ADMIN' : 'ROOM_NOT_MEMBER');
}

// The changes below are made by a room admin, a global admin or the service (actor null); the
// callers check who may. Each commits to Postgres, then announces with a system message.

/** Adds a member; `added` is false when the user already was one (then nothing is announced). */
export async function addMember(core: GatewayCore, roomId: number, userId: string, actorId: string | null) {
  const { member, added } = await addRoomMember(core.db, roomId, userId, 'member');
  if (added) await announce(core, roomId, { event: 'member_added', user_id: userId, ...actorOf(actorId) }, actorId);
  return { member, added };
}

/**
 * Sets a member's role and returns the member as it now is: unchanged (and nothing announced) when
 * the role already was `role`; ROOM_MEMBER_NOT_FOUND when they left meanwhile.
 */
export async function changeRole(core: GatewayCore, member: Selectable<Database['room_members']>, role: MemberRole, actorId: string | null) {
  if (member.role === role) return member;
  const updated = await setMemberRole(core.db, member.room_id, member.user_id, role);
  if (!updated) throw new ParleyError('ROOM_MEMBER_NOT_FOUND');
  await announce(
    core,
    member.room_id,
    { event: role === 'admin' ? 'member_promoted' : 'member_demoted', user_id: member.user_id, ...actorOf(actorId) },
    actorId,
  );
  return updated;
}

/**
 * Removes a member; removing oneself is leaving. A group whose owner leaves (or is removed) is not
 * left without one: ownership passes on (passOwnership), and a member who becomes its admin for it
 * is announced as promoted, by no one (the service).
 */
export async function removeMember(core: GatewayCore, roomId: number, userId: string, actorId: string | null): Promise<void> {
  if (!(await removeRoomMember(core.db, roomId, userId))) return;
  const system =
    userId === actorId ? { event: 'member_left' as const, user_id: userId } : { event: 'member_removed' as const, user_id: userId, ...actorOf(actorId) };
  await announce(core, roomId, system, actorId);
  const heir = await passOwnership(core.db, roomId, userId);
  if (heir?.promoted) await announce(core, roomId, { event: 'member_promoted', user_id: heir.owner }, null);
}

/** Deletes the room: a `room_deleted` system message, after which no member receives anything. */
export async function removeRoom(core: GatewayCore, roomId: number, actorId: string | null): Promise<void> {
  await deleteRoom(core.db, roomId);
  await announce(core, roomId, { event: 'room_deleted', ...actorOf(actorId) }, actorId);
}

/** A new room's members start receiving it on every gateway (no system message: the room is new). */
export async function tellAdded(core: GatewayCore, roomId: number, userIds: string[]): Promise<void> {
  const head = await core.roomEvents.head(roomId);
  await Promise.all(userIds.map((userId) => core.userHub.publish(userId, { type: 'chat_added', chat_id: roomId, head_seq: head })));
}

const actorOf = (actorId: string | null) => (actorId === null ? {} : { actor_id: actorId });

/**
 * Announces a membership change already committed to Postgres (see appendMembershipEvent). A member
 * who joined or was added is then told on every gateway to start receiving the room from just before
 * the announcement, so their sockets get it too.
 */
export async function announce(core: GatewayCore, roomId: number, system: MembershipEvent, actorId: string | null): Promise<void> {
  const { seq } = await appendMembershipEvent(core, roomId, system, actorId);
  if ((system.event === 'member_joined' || system.event === 'member_added') && system.user_id) {
    await core.userHub.publish(system.user_id, { type: 'chat_added', chat_id: roomId, head_seq: seq - 1 });
    // What was said before a member arrived is not unread for them: they start at their own arrival.
    await markRead(core, system.user_id, [{ roomId, seq }]);
  }
}
