import type { FastifyInstance } from 'fastify';
import { findRoom, memberRole, type MemberRole, type RoomRow } from '@parley/db';
import { ParleyError } from '@parley/protocol';
import type { Caller } from '../plugins/auth.js';
import { appendMembershipEvent, type MembershipEvent } from '../messages/append-message.js';

export interface RoomAccess {
  room: RoomRow;
  /** The caller's role, or undefined when not a member. */
  role: MemberRole | undefined;
}

/** The room (404 when missing or deleted) and the caller's role in it. */
export async function roomAccess(app: FastifyInstance, roomId: number, caller: Caller): Promise<RoomAccess> {
  const [room, role] = await Promise.all([findRoom(app.db, roomId), memberRole(app.db, roomId, caller.id)]);
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

/** Deleting the room, and removing or demoting an admin, belong to the creator and global admins. */
export function requireCreator({ room }: RoomAccess, caller: Caller): void {
  if (!caller.isAdmin && room.created_by !== caller.id) throw new ParleyError('ROOM_NOT_CREATOR');
}

/**
 * Announces a membership change already committed to Postgres (see appendMembershipEvent). A member
 * who joined or was added is then told on every gateway to start receiving the room from just before
 * the announcement, so their sockets get it too.
 */
export async function announce(app: FastifyInstance, roomId: number, system: MembershipEvent, actor: Caller | null): Promise<void> {
  const { seq } = await appendMembershipEvent(app, roomId, system, actor?.id ?? null);
  if ((system.event === 'member_joined' || system.event === 'member_added') && system.user_id) {
    await app.userHub.publish(system.user_id, { type: 'chat_added', chat_id: roomId, head_seq: seq - 1 });
  }
}
