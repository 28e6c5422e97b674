// Room administration: who may do what (the rules, a row per kind of act) and the commands, each of
// which commits to Postgres and then announces with a system message. Routes check a user's request
// against the rules; the customer's backend (the service, actor null) may do what a global admin
// may, without being a member, and calls the commands directly.
import type { GatewayCore } from '../core.js';
import {
  addRoomMember,
  createDirectRoom,
  createGroupRoom,
  deleteRoom,
  findRoom,
  findRoomMember,
  memberRole,
  passOwnership,
  removeRoomMember,
  setMemberRole,
  type Database,
  type MemberRole,
  type RoomRow,
} from '@parley/db';
import type { Selectable } from 'kysely';
import { ParleyError, type ErrorCode, type MembershipSystemInfo } from '@parley/protocol';
import type { Caller } from '../plugins/auth.js';
import { appendMembershipEvent } from '../messages/append-message.js';
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

/**
 * The rules: for each kind of act, the refusal a user gets (undefined: allowed), from the room, the
 * user's role in it at the moment of the request, and whether they are a global admin.
 */
const rules = {
  /** Seeing a room's metadata and members: its members, everyone when it is public, global admins. */
  view: ({ room, role }, caller) => (!role && !room.is_public && !caller.isAdmin ? 'ROOM_NOT_MEMBER' : undefined),
  /** Joining: a public group, by anyone (a member joining again changes nothing). */
  join: ({ room, role }) => (role ? undefined : room.type === 'direct' ? 'ROOM_DIRECT_MEMBERS' : room.is_public ? undefined : 'ROOM_PRIVATE'),
  /** Leaving: a member of a group. */
  leave: ({ room, role }) => (!role ? 'ROOM_NOT_MEMBER' : room.type === 'direct' ? 'ROOM_DIRECT_MEMBERS' : undefined),
  /** Adding members, promoting, removing a member: a group's admins and global admins; a direct room has no managers. */
  manage: ({ room, role }, caller) =>
    room.type === 'direct' ? 'ROOM_DIRECT_MEMBERS' : caller.isAdmin || role === 'admin' ? undefined : role ? 'ROOM_NOT_ADMIN' : 'ROOM_NOT_MEMBER',
  /**
   * Deleting the room, demoting or removing an admin: its owner (its creator, or whom ownership
   * passed to) while an admin member, and global admins. An owner removed or demoted has no right left.
   */
  own: ({ room, role }, caller) =>
    caller.isAdmin
      ? undefined
      : room.created_by !== caller.id
        ? 'ROOM_NOT_CREATOR'
        : role === 'admin'
          ? undefined
          : role
            ? 'ROOM_NOT_ADMIN'
            : 'ROOM_NOT_MEMBER',
} satisfies Record<string, (access: RoomAccess, caller: Caller) => ErrorCode | undefined>;

/** Throws the refusal the rules give `caller` for this kind of act, if any. */
export function requireRight(act: keyof typeof rules, access: RoomAccess, caller: Caller): void {
  const refusal = rules[act](access, caller);
  if (refusal) throw new ParleyError(refusal);
}

/** A new group's settings: public unless said otherwise, official only if a global admin (or the service) says so. */
export interface NewGroup {
  name: string;
  description?: string;
  is_public?: boolean;
  is_official?: boolean;
  member_ids?: string[];
}

/** Creates a group and tells its members' gateways (no system message: the room is new). */
export async function createGroup(core: GatewayCore, creatorId: string, group: NewGroup): Promise<RoomRow> {
  const memberIds = group.member_ids ?? [];
  const room = await createGroupRoom(core.db, creatorId, {
    name: group.name,
    description: group.description,
    isPublic: group.is_public ?? true,
    isOfficial: group.is_official ?? false,
    memberIds,
  });
  await tellAdded(core, room.id, [creatorId, ...memberIds.filter((id) => id !== creatorId)]);
  return room;
}

/** The direct room of two users, created (and its members told) if it did not exist. */
export async function openDirect(core: GatewayCore, a: string, b: string): Promise<{ room: RoomRow; created: boolean }> {
  const found = await createDirectRoom(core.db, a, b);
  if (found.created) await tellAdded(core, found.room.id, [a, b]);
  return found;
}

/** A user joins a room (see rules.join); `added` is false when they already were a member. */
export async function join(core: GatewayCore, access: RoomAccess, caller: Caller) {
  requireRight('join', access, caller);
  const { member, added } = await addRoomMember(core.db, access.room.id, caller.id, 'member');
  if (added) await announce(core, access.room.id, { event: 'member_joined', user_id: caller.id }, caller.id);
  return { member, added };
}

/** A user sets another member's role (rules.manage; demoting an admin, rules.own). */
export async function setRole(core: GatewayCore, access: RoomAccess, caller: Caller, userId: string, role: MemberRole) {
  requireRight('manage', access, caller);
  const member = await memberOf(core, access.room.id, userId);
  if (member.role === 'admin' && role === 'member') requireRight('own', access, caller);
  return changeRole(core, member, role, caller.id);
}

/** A user removes a member: themself is leaving (rules.leave), another takes rules.manage, an admin rules.own. */
export async function remove(core: GatewayCore, access: RoomAccess, caller: Caller, userId: string): Promise<void> {
  const self = userId === caller.id;
  requireRight(self ? 'leave' : 'manage', access, caller);
  const member = await memberOf(core, access.room.id, userId);
  if (member.role === 'admin' && !self) requireRight('own', access, caller);
  await removeMember(core, access.room.id, userId, caller.id);
}

/** The member, or ROOM_MEMBER_NOT_FOUND. */
export async function memberOf(core: GatewayCore, roomId: number, userId: string) {
  const member = await findRoomMember(core.db, roomId, userId);
  if (!member) throw new ParleyError('ROOM_MEMBER_NOT_FOUND');
  return member;
}

// The changes below are made by a user the rules above allowed, or by the service (actor null).

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
async function announce(core: GatewayCore, roomId: number, system: MembershipSystemInfo, actorId: string | null): Promise<void> {
  const { seq } = await appendMembershipEvent(core, roomId, system, actorId);
  if ((system.event === 'member_joined' || system.event === 'member_added') && system.user_id) {
    await core.userHub.publish(system.user_id, { type: 'chat_added', chat_id: roomId, head_seq: seq - 1 });
    // What was said before a member arrived is not unread for them: they start at their own arrival.
    await markRead(core, system.user_id, [{ roomId, seq }]);
  }
}
