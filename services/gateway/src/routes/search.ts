import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBody, ParleyError, SearchQuery, SearchResult } from '@parley/protocol';
import { searchMessages } from '@parley/db';
import { messageOfRow } from '../rooms/room-events.js';

/**
 * GET /api/messages/search: the caller's messages containing a keyword, newest first. Reads
 * Postgres, so a message is found once a persister has written it (well under a second after its ack).
 */
const search: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get(
    '/api/messages/search',
    { schema: { querystring: SearchQuery, response: { 200: SearchResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const { keyword, chat_id: roomId, limit, skip } = request.query;
      if (keyword.trim().length === 0) throw new ParleyError('REQUEST_INVALID', 'keyword must not be blank');
      if (roomId !== undefined && !(await app.core.membership.isMember(roomId, request.caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
      const rows = await searchMessages(app.db, { userId: request.caller.id, keyword, roomId, limit, skip });
      return { messages: rows.map(messageOfRow) };
    },
  );
};
export default search;
