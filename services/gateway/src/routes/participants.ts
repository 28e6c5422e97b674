import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import {
  AddParticipantBody,
  ChatParams,
  ErrorBody,
  Member,
  MuteBody,
  MuteState,
  Participant,
  ParticipantList,
  ParticipantListQuery,
  ParticipantParams,
  ParleyError,
  UpdateParticipantBody,
} from '@parley/protocol';
import { listRoomMembers, setMuted, type Database } from '@parley/db';
import type { Selectable } from 'kysely';
import { addMember, remove, requireRight, roomAccess, setRole } from '../rooms/room-commands.js';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

export function participantOf(m: Selectable<Database['room_members']>): Static<typeof Participant> {
  return { chat_id: m.room_id, user_id: m.user_id, role: m.role, joined_at: m.joined_at.toISOString(), last_read_seq: m.last_read_seq };
}

/** A member as a room's lists show them, with their profile (listRoomMembers' rows). */
export function memberWithProfile(m: Awaited<ReturnType<typeof listRoomMembers>>[number]): Static<typeof Member> {
  return { ...participantOf(m), name: m.name, avatar: m.avatar };
}

/** /api/chats/:id/participants: who is in a room; a room admin adds, promotes and removes members; a member mutes. */
const participants: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get(
    '/api/chats/:id/participants',
    { schema: { params: ChatParams, querystring: ParticipantListQuery, response: { 200: ParticipantList, ...errorResponses } } },
    async (request) => {
      const access = await roomAccess(app.core, request.params.id, request.caller);
      requireRight('view', access, request.caller);
      const rows = await listRoomMembers(app.db, access.room.id, request.query.limit, request.query.skip);
      return { participants: rows.map(memberWithProfile) };
    },
  );

  app.post(
    '/api/chats/:id/participants',
    { schema: { params: ChatParams, body: AddParticipantBody, response: { 201: Participant, 200: Participant, ...errorResponses } } },
    async (request, reply) => {
      const access = await roomAccess(app.core, request.params.id, request.caller);
      requireRight('manage', access, request.caller);
      const { member, added } = await addMember(app.core, access.room.id, request.body.user_id, request.caller.id);
      return reply.status(added ? 201 : 200).send(participantOf(member));
    },
  );

  app.patch(
    '/api/chats/:id/participants/:user_id',
    { schema: { params: ParticipantParams, body: UpdateParticipantBody, response: { 200: Participant, ...errorResponses } } },
    async (request) => {
      const { id: roomId, user_id: userId } = request.params;
      const access = await roomAccess(app.core, roomId, request.caller);
      return participantOf(await setRole(app.core, access, request.caller, userId, request.body.role));
    },
  );

  app.delete(
    '/api/chats/:id/participants/:user_id',
    { schema: { params: ParticipantParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { id: roomId, user_id: userId } = request.params;
      await remove(app.core, await roomAccess(app.core, roomId, request.caller), request.caller, userId);
      return reply.status(204).send(null);
    },
  );

  /** A member mutes a room: no offline notifications from it (seed 001's push, seed 003's offline messages). */
  app.put('/api/chats/:id/mute', { schema: { params: ChatParams, body: MuteBody, response: { 200: MuteState, ...errorResponses } } }, async (request) => {
    if (!(await setMuted(app.db, request.params.id, request.caller.id, request.body.muted))) throw new ParleyError('ROOM_NOT_MEMBER');
    return { chat_id: request.params.id, muted: request.body.muted };
  });
};
export default participants;
