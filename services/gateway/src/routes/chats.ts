import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  Chat,
  ChatDetail,
  ChatList,
  ChatListQuery,
  ChatParams,
  CreateChatBody,
  ErrorBody,
  Participant,
  isMessageEvent,
  messageOfEvent,
  ParleyError,
  type Message,
} from '@parley/protocol';
import { listRoomMembers, listRoomsOfUser, listUsers, listVisibleRooms, type RoomRow } from '@parley/db';
import { createGroup, join, openDirect, remove, removeRoom, requireRight, roomAccess } from '../rooms/room-commands.js';
import { memberWithProfile, participantOf } from './participants.js';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** Members listed in a room's detail; the rest page through GET /api/chats/:id/participants. */
const DETAIL_MEMBERS = 100;
/** Latest messages in a room's detail. */
const DETAIL_MESSAGES = 20;

/** A room as a caller with this role sees it. */
export function chatOf(room: RoomRow, role: 'admin' | 'member' | null | undefined, headSeq: number, lastMessage: Message | null): Chat {
  return {
    id: room.id,
    type: room.type,
    name: room.name,
    description: room.description,
    is_public: room.is_public,
    is_official: room.is_official,
    created_by: room.created_by,
    created_at: room.created_at.toISOString(),
    member_count: room.member_count,
    is_member: role === 'admin' || role === 'member',
    is_admin: role === 'admin',
    head_seq: headSeq,
    last_message: lastMessage,
  };
}

/**
 * Whether a caller with this role sees a room's latest messages (its detail, its last message):
 * members do, and in a public room every signed-in user, who may read before joining (seed 003).
 * History beyond them, sending and files stay with members.
 */
function messagesReadable(room: RoomRow, role: 'admin' | 'member' | null | undefined): boolean {
  return Boolean(role) || room.is_public;
}

/** /api/chats: the caller's rooms; creating, joining, leaving and deleting rooms. */
const chats: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get('/api/chats', { schema: { querystring: ChatListQuery, response: { 200: ChatList, ...errorResponses } } }, async (request) => {
    const { scope, limit, skip } = request.query;
    const list = scope === 'visible' ? listVisibleRooms : listRoomsOfUser;
    const rows = await list(app.db, request.caller.id, limit, skip);
    const heads = await app.core.roomEvents.heads(rows.map((r) => r.id));
    const readable = rows.flatMap((r, i) => (messagesReadable(r, r.role) ? [{ id: r.id, head: heads[i]! }] : []));
    const latest = await app.core.roomEvents.latest(
      readable.map((r) => r.id),
      readable.map((r) => r.head),
    );
    const lastOf = new Map(readable.map((r, i) => [r.id, latest[i]!]));
    return { chats: rows.map((r, i) => chatOf(r, r.role, heads[i]!, lastOf.get(r.id) ?? null)) };
  });

  app.get('/api/chats/:id', { schema: { params: ChatParams, response: { 200: ChatDetail, ...errorResponses } } }, async (request) => {
    const access = await roomAccess(app.core, request.params.id, request.caller);
    requireRight('view', access, request.caller);
    const { room, role } = access;
    const [head, members] = await Promise.all([app.core.roomEvents.head(room.id), listRoomMembers(app.db, room.id, DETAIL_MEMBERS, 0)]);
    // The owner is an admin member while the group has members: among the first listed as a rule, else asked for.
    const owner = members.find((m) => m.user_id === room.created_by);
    const creator = owner
      ? { user_id: owner.user_id, name: owner.name, avatar: owner.avatar }
      : ((await listUsers(app.db, { ids: [room.created_by], limit: 1, skip: 0 })).map((u) => ({ user_id: u.id, name: u.name, avatar: u.avatar }))[0] ?? null);
    const events = messagesReadable(room, role) ? await app.core.roomEvents.range(room.id, Math.max(1, head - DETAIL_MESSAGES + 1), head) : [];
    const messages = events
      .filter((e) => isMessageEvent(e.event))
      .map((e) => messageOfEvent(e.event))
      .reverse();
    return {
      ...chatOf(room, role, head, messages[0] ?? null),
      creator,
      members: members.map(memberWithProfile),
      latest_messages: messages,
    };
  });

  app.post('/api/chats', { schema: { body: CreateChatBody, response: { 200: Chat, 201: Chat, ...errorResponses } } }, async (request, reply) => {
    const me = request.caller.id;
    const body = request.body;
    if (body.type === 'direct') {
      if (body.user_id === me) throw new ParleyError('ROOM_DIRECT_SELF');
      const { room, created } = await openDirect(app.core, me, body.user_id);
      const head = await app.core.roomEvents.head(room.id);
      const [last] = await app.core.roomEvents.latest([room.id], [head]);
      return reply.status(created ? 201 : 200).send(chatOf(room, 'member', head, last ?? null));
    }
    if (body.is_official && !request.caller.isAdmin) throw new ParleyError('ROOM_OFFICIAL_FORBIDDEN');
    return reply.status(201).send(chatOf(await createGroup(app.core, me, body), 'admin', 0, null));
  });

  app.delete('/api/chats/:id', { schema: { params: ChatParams, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    const access = await roomAccess(app.core, request.params.id, request.caller);
    requireRight('own', access, request.caller);
    await removeRoom(app.core, access.room.id, request.caller.id);
    return reply.status(204).send(null);
  });

  app.post(
    '/api/chats/:id/join',
    { schema: { params: ChatParams, response: { 200: Participant, 201: Participant, ...errorResponses } } },
    async (request, reply) => {
      const { member, added } = await join(app.core, await roomAccess(app.core, request.params.id, request.caller), request.caller);
      return reply.status(added ? 201 : 200).send(participantOf(member));
    },
  );

  app.post('/api/chats/:id/leave', { schema: { params: ChatParams, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    await remove(app.core, await roomAccess(app.core, request.params.id, request.caller), request.caller, request.caller.id);
    return reply.status(204).send(null);
  });
};
export default chats;
