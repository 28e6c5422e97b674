import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { encodeMessageEventBody, ParleyError, type MessageType, type SendMessageResult } from '@parley/protocol';
import { appendStatusError } from '@parley/redis';

export interface NewMessage {
  roomId: number;
  senderId: string;
  clientId: string;
  messageType: MessageType;
  content: string;
}

/**
 * The one write path of a message, for the socket and REST alike: a single script call checks
 * membership and the client_id, assigns the seq, appends to the room log and the event stream,
 * and publishes. Resolving means the message is in the stream: the answer is the ack.
 */
export async function appendMessage(app: FastifyInstance, msg: NewMessage): Promise<Static<typeof SendMessageResult>> {
  const id = randomUUID();
  const createdAt = new Date().toISOString();
  const eventJson = encodeMessageEventBody({
    chat_id: msg.roomId,
    id,
    sender_id: msg.senderId,
    client_id: msg.clientId,
    message_type: msg.messageType,
    content: msg.content,
    created_at: createdAt,
  });
  const input = {
    roomId: msg.roomId,
    senderId: msg.senderId,
    clientId: msg.clientId,
    id,
    createdAt,
    eventJson,
    idempotencyTtlSeconds: app.config.idempotencyTtlSeconds,
    maxBacklog: app.config.streamMaxBacklog,
  };
  // A cold member cache costs one fill; a membership change racing the fill costs another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await app.scripts.roomAppend(input);
    switch (result.status) {
      case 'OK':
      case 'DUPLICATE':
        return {
          client_id: msg.clientId,
          chat_id: msg.roomId,
          id: result.id,
          seq: result.seq,
          created_at: result.createdAt,
          duplicate: result.status === 'DUPLICATE',
        };
      case 'MEMBERS_UNCACHED':
        await app.membership.fill(msg.roomId);
        continue;
      default:
        throw appendStatusError(result.status);
    }
  }
  throw new ParleyError('SERVICE_UNAVAILABLE', 'room membership kept changing; retry');
}
