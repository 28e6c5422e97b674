import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ChatParams, decodeMessageEvent, ErrorBody, HistoryPage, HistoryQuery, limits, ParleyError } from '@parley/protocol';

/**
 * GET /api/chats/:id/messages: history, newest first, by seq cursor. Reads through RoomEvents, so
 * an acked message is listed even before a persister has written it to Postgres.
 */
const messages: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get(
    '/api/chats/:id/messages',
    { schema: { params: ChatParams, querystring: HistoryQuery, response: { 200: HistoryPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request) => {
      const roomId = request.params.id;
      const { before, after, limit = limits.historyDefaultLimit } = request.query;
      if (before !== undefined && after !== undefined) throw new ParleyError('REQUEST_INVALID', 'Give before or after, not both');
      if (!(await app.membership.isMember(roomId, request.caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
      const head = await app.roomEvents.head(roomId);
      // Seqs are gapless, so a page is a seq range.
      let from: number;
      let to: number;
      if (after !== undefined) {
        from = after + 1;
        to = Math.min(after + limit, head);
      } else {
        to = Math.min((before ?? head + 1) - 1, head);
        from = Math.max(1, to - limit + 1);
      }
      const events = await app.roomEvents.range(roomId, from, to);
      const page = events.map((e) => decodeMessageEvent(e.event)).reverse();
      const hasMore = after !== undefined ? to < head : from > 1;
      return { messages: page, has_more: hasMore, head_seq: head };
    },
  );
};
export default messages;
