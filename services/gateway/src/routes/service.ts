import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  AddParticipantBody,
  Chat,
  ChatParams,
  ErrorBody,
  Participant,
  ParticipantParams,
  ParleyError,
  SendMessageResult,
  ServiceCreateChatBody,
  ServiceNoticeBody,
  ServiceProfileBody,
  ServiceRevokeTokenBody,
  ServiceUserParams,
  ContactList,
  DirectoryQuery,
  UpdateParticipantBody,
} from '@parley/protocol';
import { findRoom, setProfile } from '@parley/db';
import { appendMessage } from '../messages/append-message.js';
import { replyAck } from '../plugins/send-deadline.js';
import { addMember, changeRole, createGroup, memberOf, openDirect, removeMember, removeRoom } from '../rooms/room-commands.js';
import { chatOf } from './chats.js';
import { revokeToken } from '../users/revocations.js';
import { avatarRule, avatarUrlOf } from '../users/avatar-url.js';
import { participantOf } from './participants.js';
import { directory } from './users.js';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 503: ErrorBody };

/**
 * /api/service/…: the server API of the customer's backend, authenticated by a service token. The
 * service manages every room as a global admin would, but is no member: it reads no messages, and
 * what it does is announced with no actor (`sender_id` null on its notices).
 */
const service: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticateService);

  async function room(id: number, { group }: { group: boolean }) {
    const found = await findRoom(app.db, id);
    if (!found) throw new ParleyError('ROOM_NOT_FOUND');
    if (group && found.type === 'direct') throw new ParleyError('ROOM_DIRECT_MEMBERS');
    return found;
  }

  app.post('/api/service/chats', { schema: { body: ServiceCreateChatBody, response: { 200: Chat, 201: Chat, ...errorResponses } } }, async (request, reply) => {
    const body = request.body;
    if (body.type === 'direct') {
      const [a, b] = body.user_ids as [string, string];
      const { room: created, created: isNew } = await openDirect(app.core, a, b);
      return reply.status(isNew ? 201 : 200).send(chatOf(created, null, await app.core.roomEvents.head(created.id), null));
    }
    return reply.status(201).send(chatOf(await createGroup(app.core, body.created_by, body), null, 0, null));
  });

  app.delete('/api/service/chats/:id', { schema: { params: ChatParams, response: { 204: Type.Null(), ...errorResponses } } }, async (request, reply) => {
    await removeRoom(app.core, (await room(request.params.id, { group: false })).id, null);
    return reply.status(204).send(null);
  });

  app.post(
    '/api/service/chats/:id/participants',
    { schema: { params: ChatParams, body: AddParticipantBody, response: { 200: Participant, 201: Participant, ...errorResponses } } },
    async (request, reply) => {
      const { id } = await room(request.params.id, { group: true });
      const { member: added, added: isNew } = await addMember(app.core, id, request.body.user_id, null);
      return reply.status(isNew ? 201 : 200).send(participantOf(added));
    },
  );

  app.patch(
    '/api/service/chats/:id/participants/:user_id',
    { schema: { params: ParticipantParams, body: UpdateParticipantBody, response: { 200: Participant, ...errorResponses } } },
    async (request) => {
      const { id } = await room(request.params.id, { group: true });
      return participantOf(await changeRole(app.core, await memberOf(app.core, id, request.params.user_id), request.body.role, null));
    },
  );

  app.delete(
    '/api/service/chats/:id/participants/:user_id',
    { schema: { params: ParticipantParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { id } = await room(request.params.id, { group: true });
      await removeMember(app.core, id, (await memberOf(app.core, id, request.params.user_id)).user_id, null);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/service/chats/:id/messages',
    {
      config: { sendDeadline: true },
      schema: { params: ChatParams, body: ServiceNoticeBody, response: { 200: SendMessageResult, 201: SendMessageResult, ...errorResponses } },
    },
    async (request, reply) => {
      const { id } = await room(request.params.id, { group: false });
      const { client_id: clientId, content } = request.body;
      return replyAck(
        request,
        reply,
        appendMessage(app.core, { roomId: id, senderId: null, clientId, messageType: 'system', content, system: { event: 'notice' } }, 'system'),
      );
    },
  );

  /** Every user with their profile and presence, by id (a back office's directory, seed 001's GET /api/chat/users). */
  app.get('/api/service/users', { schema: { querystring: DirectoryQuery, response: { 200: ContactList, ...errorResponses } } }, async (request) =>
    directory(app.core, request.query),
  );

  /** Sets a user's display name and avatar, as every client then resolves them (POST /api/users/profiles). */
  app.put(
    '/api/service/users/:user_id',
    { schema: { params: ServiceUserParams, body: ServiceProfileBody, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      const { avatar } = request.body;
      const checked = avatar ? avatarUrlOf(avatar, app.config.avatarAllowHttp) : avatar;
      if (checked === null && avatar) throw new ParleyError('REQUEST_INVALID', avatarRule(app.config.avatarAllowHttp));
      await setProfile(app.db, request.params.user_id, { ...request.body, ...(avatar !== undefined ? { avatar: checked } : {}) });
      return reply.status(204).send(null);
    },
  );

  /** Revokes a token by its jti: refused from now on, and every socket opened with it closed (4103). */
  app.post(
    '/api/service/tokens/revoke',
    { schema: { body: ServiceRevokeTokenBody, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await revokeToken(app.redis, app.keys, request.body.jti, request.body.expires_at ? Date.parse(request.body.expires_at) : undefined);
      return reply.status(204).send(null);
    },
  );
};
export default service;
