import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ChatParams, ErrorBody, MarkReadBody, MessageParams, MessageStatus, ReadState, UnreadCount } from '@parley/protocol';
import { roomIdsOfUser } from '@parley/db';
import { markRead, messageStatus, unreadCounts } from '../rooms/read-state.js';

const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody };

/** Unread counts, read marks and message status (seeds 002 and 004). */
const readState: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);

  app.get('/api/unread-count', { schema: { response: { 200: UnreadCount, ...errorResponses } } }, async (request) => unreadCounts(app.core, request.caller.id));

  app.put(
    '/api/chats/:id/read',
    {
      schema: { params: ChatParams, body: MarkReadBody, response: { 200: ReadState, ...errorResponses } },
      // The body is optional (seed 004 sends none): none means "to the head".
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const [result] = await markRead(app.core, request.caller.id, [{ roomId: request.params.id, seq: request.body.seq ?? 0 }]);
      return result!.state;
    },
  );

  /** Every room of the caller, read to its head. */
  app.put('/api/chats/read', { schema: { response: { 200: UnreadCount, ...errorResponses } } }, async (request) => {
    const roomIds = await roomIdsOfUser(app.db, request.caller.id);
    await markRead(
      app.core,
      request.caller.id,
      roomIds.map((roomId) => ({ roomId, seq: 0 })),
    );
    return unreadCounts(app.core, request.caller.id);
  });

  /** A direct room's message, as its sender sees it: sent, delivered or read (seed 002). */
  app.get('/api/chats/:id/messages/:seq/status', { schema: { params: MessageParams, response: { 200: MessageStatus, ...errorResponses } } }, async (request) =>
    messageStatus(app.core, request.caller.id, request.params.id, request.params.seq),
  );
};
export default readState;
