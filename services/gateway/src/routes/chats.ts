import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  AddParticipantBody,
  Chat,
  ChatList,
  ChatParams,
  CreateChatBody,
  ErrorBody,
  Participant,
  ParleyError,
} from '@parley/protocol';
import { addRoomMember, createDirectRoom, createGroupRoom, findRoom, listRoomsOfUser, memberRole, type RoomRow } from '@parley/db';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

function chatOf(room: RoomRow, memberCount: number, role: 'admin' | 'member' | undefined, headSeq: number): Chat {
  return {
    id: room.id,
    type: room.type,
    name: room.name,
    description: room.description,
    is_public: room.is_public,
    is_official: room.is_official,
    created_by: room.created_by,
    created_at: room.created_at.toISOString(),
    member_count: memberCount,
    is_member: role !== undefined,
    is_admin: role === 'admin',
    head_seq: headSeq,
  };
}

/** /api/chats: the caller's rooms, creating direct and group rooms, adding members. */
const chats: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get(
    '/api/chats',
    {
      schema: {
        querystring: Type.Object({
          skip: Type.Integer({ minimum: 0, default: 0 }),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
        }, { additionalProperties: false }),
        response: { 200: ChatList, ...errorResponses },
      },
    },
    async (request) => {
      const rows = await listRoomsOfUser(app.db, request.caller.id, request.query.limit, request.query.skip);
      const heads = await app.roomEvents.heads(rows.map((r) => r.id));
      return { chats: rows.map((r, i) => chatOf(r, r.member_count, r.role, heads[i]!)) };
    },
  );

  app.post('/api/chats', { schema: { body: CreateChatBody, response: { 200: Chat, 201: Chat, ...errorResponses } } }, async (request, reply) => {
    const me = request.caller.id;
    const body = request.body;
    if (body.type === 'direct') {
      if (body.user_id === me) throw new ParleyError('ROOM_DIRECT_SELF');
      const { room, created } = await createDirectRoom(app.db, me, body.user_id);
      if (created) await notifyAdded(room.id, [me, body.user_id]);
      return reply.status(created ? 201 : 200).send(chatOf(room, 2, 'member', await app.roomEvents.head(room.id)));
    }
    const memberIds = body.member_ids ?? [];
    const room = await createGroupRoom(app.db, me, { name: body.name, description: body.description, isPublic: body.is_public ?? true, memberIds });
    await notifyAdded(room.id, [me, ...memberIds.filter((id) => id !== me)]);
    return reply.status(201).send(chatOf(room, new Set([me, ...memberIds]).size, 'admin', 0));
  });

  app.post(
    '/api/chats/:id/participants',
    { schema: { params: ChatParams, body: AddParticipantBody, response: { 201: Participant, 200: Participant, ...errorResponses } } },
    async (request, reply) => {
      const roomId = request.params.id;
      const room = await findRoom(app.db, roomId);
      const role = room && (await memberRole(app.db, roomId, request.caller.id));
      if (!room || !role) throw new ParleyError('ROOM_NOT_MEMBER');
      if (room.type === 'direct') throw new ParleyError('ROOM_DIRECT_MEMBERS');
      if (role !== 'admin') throw new ParleyError('ROOM_NOT_ADMIN');
      const { member, added } = await addRoomMember(app.db, roomId, request.body.user_id, 'member');
      if (added) await notifyAdded(roomId, [request.body.user_id]);
      return reply.status(added ? 201 : 200).send({ chat_id: roomId, user_id: member.user_id, role: member.role, joined_at: member.joined_at.toISOString() });
    },
  );

  /** After a membership commit: refresh the member cache, then tell the users' sockets everywhere. */
  async function notifyAdded(roomId: number, userIds: string[]) {
    await app.membership.changed(roomId);
    const head = await app.roomEvents.head(roomId);
    await Promise.all(userIds.map((userId) => app.userHub.publish(userId, { type: 'chat_added', chat_id: roomId, head_seq: head })));
  }
};
export default chats;
