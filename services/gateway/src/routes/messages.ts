import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import {
  ChatParams,
  EditMessageBody,
  ForwardMessageBody,
  MessageParams,
  encodeHistoryPage,
  messageJsonOfEvent,
  ErrorBody,
  HistoryPage,
  HistoryQuery,
  isMessageEvent,
  limits,
  ParleyError,
  SendMessageBody,
  SendMessageResult,
} from '@parley/protocol';
import { sendUserMessage } from '../messages/append-message.js';
import { deleteMessage, editMessage } from '../messages/change-message.js';
import { forwardMessage } from '../messages/forward-message.js';
import { replyAck } from '../plugins/send-deadline.js';
import { isUnavailable } from '../plugins/errors.js';
import type { RoomEvent } from '../rooms/room-events.js';
import { memberRole } from '@parley/db';

/** Where a page of history is read from. */
interface HistorySource {
  isMember(roomId: number, userId: string): Promise<boolean>;
  head(roomId: number): Promise<number>;
  range(roomId: number, fromSeq: number, toSeq: number): Promise<RoomEvent[]>;
}

/**
 * A page of a room's history, newest first, as JSON: `limit` messages before `before` (or the
 * head), or after `after`. Seqs are gapless, so a page is a seq range; its cursors are the range's
 * bounds, the next page starting where this one ended whatever it held.
 */
async function historyPage(
  source: HistorySource,
  roomId: number,
  userId: string,
  { before, after, limit }: { before?: number; after?: number; limit: number },
): Promise<string> {
  // Both at once; the head is used only once membership is confirmed.
  const [member, head] = await Promise.all([source.isMember(roomId, userId), source.head(roomId)]);
  if (!member) throw new ParleyError('ROOM_NOT_MEMBER');
  let from: number;
  let to: number;
  if (after !== undefined) {
    from = after + 1;
    to = Math.min(after + limit, head);
  } else {
    to = Math.min((before ?? head + 1) - 1, head);
    from = Math.max(1, to - limit + 1);
  }
  const events = await source.range(roomId, from, to);
  const hasMore = after !== undefined ? to < head : from > 1;
  // The stored events are already the JSON of the messages: the page is assembled from them rather
  // than parsed and serialized again (HistoryPage is still the schema it follows). Edits and
  // deletions are folded into the messages they change (history shows current state).
  const messages = events
    .filter((e) => isMessageEvent(e.event))
    .map((e) => messageJsonOfEvent(e.event))
    .reverse();
  const nextBefore = from > 1 ? Math.min(from, head + 1) : null;
  const nextAfter = to < head ? Math.max(to, from - 1) : null;
  return encodeHistoryPage(messages, { has_more: hasMore, head_seq: head, next_before: nextBefore, next_after: nextAfter });
}

/**
 * POST /api/chats/:id/messages: send, through the same append path and idempotency as the socket.
 * GET /api/chats/:id/messages: history, newest first, by seq cursor. Reads through RoomEvents, so
 * an acked message is listed even before a persister has written it to Postgres.
 */
const messages: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('preValidation', app.authenticate);
  const { core } = app;
  /** Every acked event: Redis' room logs over Postgres. */
  const everyEvent: HistorySource = {
    isMember: (roomId, userId) => core.membership.isMember(roomId, userId),
    head: (roomId) => core.roomEvents.head(roomId),
    range: (roomId, from, to) => core.roomEvents.range(roomId, from, to),
  };
  /** What Postgres holds, without Redis. */
  const persistedEvents: HistorySource = {
    isMember: async (roomId, userId) => (await memberRole(core.db, roomId, userId)) !== undefined,
    head: (roomId) => core.roomEvents.persistedHead(roomId),
    range: (roomId, from, to) => core.roomEvents.persistedRange(roomId, from, to),
  };
  /** A write (send, edit, deletion, recall, forward) is answered within SEND_TIMEOUT_MS (plugins/send-deadline.ts). */
  const config = { sendDeadline: true };

  app.get(
    '/api/chats/:id/messages',
    { schema: { params: ChatParams, querystring: HistoryQuery, response: { 200: HistoryPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody } } },
    async (request, reply) => {
      const roomId = request.params.id;
      const { before, after, limit = limits.historyDefaultLimit } = request.query;
      if (before !== undefined && after !== undefined) throw new ParleyError('REQUEST_INVALID', 'Give before or after, not both');
      const read = (source: HistorySource) => historyPage(source, roomId, request.caller.id, { before, after, limit });
      let page: string;
      try {
        page = await read(everyEvent);
      } catch (err) {
        // Redis cannot answer (a failover, say): history is read from Postgres alone, as far as
        // the persisters have written it, rather than not at all.
        if (!isUnavailable(err) && !(err instanceof ParleyError && err.code === 'SERVICE_UNAVAILABLE')) throw err;
        request.log.warn({ err: (err as Error).message, roomId }, 'history read from Postgres alone: Redis cannot answer');
        page = await read(persistedEvents);
      }
      return reply.type('application/json; charset=utf-8').send(page as unknown as Static<typeof HistoryPage>);
    },
  );

  app.post(
    '/api/chats/:id/messages',
    {
      config,
      schema: {
        params: ChatParams,
        body: SendMessageBody,
        response: { 200: SendMessageResult, 201: SendMessageResult, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      return replyAck(request, reply, sendUserMessage(app.core, request.caller.id, request.params.id, request.body));
    },
  );

  const changeSchema = {
    params: MessageParams,
    response: {
      200: SendMessageResult,
      201: SendMessageResult,
      400: ErrorBody,
      401: ErrorBody,
      403: ErrorBody,
      404: ErrorBody,
      409: ErrorBody,
      503: ErrorBody,
    },
  };

  app.patch('/api/chats/:id/messages/:seq', { config, schema: { ...changeSchema, body: EditMessageBody } }, async (request, reply) => {
    const { id, seq } = request.params;
    return replyAck(request, reply, editMessage(app.core, request.caller, id, seq, request.body.client_id, request.body.content));
  });

  app.delete('/api/chats/:id/messages/:seq', { config, schema: changeSchema }, async (request, reply) => {
    return replyAck(request, reply, deleteMessage(app.core, request.caller, request.params.id, request.params.seq, false));
  });

  app.post('/api/chats/:id/messages/:seq/recall', { config, schema: changeSchema }, async (request, reply) => {
    return replyAck(request, reply, deleteMessage(app.core, request.caller, request.params.id, request.params.seq, true));
  });

  /** The answer is the ack of the copy, in the target room. */
  app.post('/api/chats/:id/messages/:seq/forward', { config, schema: { ...changeSchema, body: ForwardMessageBody } }, async (request, reply) => {
    const { id, seq } = request.params;
    return replyAck(request, reply, forwardMessage(app.core, request.caller, id, seq, request.body.chat_id, request.body.client_id));
  });
};
export default messages;
