import { randomUUID } from 'node:crypto';
import { encodeMessageEventBody, ParleyError, type MessageType } from '@parley/protocol';
import { appendStatusError, type Scripts } from '@parley/redis';
import type { Membership } from '../rooms/membership.js';

export interface NewMessage {
  roomId: number;
  senderId: string;
  clientId: string;
  messageType: MessageType;
  content: string;
}

export interface Appended {
  id: string;
  seq: number;
  createdAt: string;
  duplicate: boolean;
}

export interface AppendLimits {
  idempotencyTtlSeconds: number;
  maxBacklog: number;
}

/**
 * The one write path of a message, for the socket and REST alike: a single script call checks
 * membership and the client_id, assigns the seq, appends to the room log and the event stream,
 * and publishes. Resolving means the message is in the stream: the caller may ack.
 */
export async function appendMessage(scripts: Scripts, membership: Membership, limits: AppendLimits, msg: NewMessage): Promise<Appended> {
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
  const input = { roomId: msg.roomId, senderId: msg.senderId, clientId: msg.clientId, id, createdAt, eventJson, idempotencyTtlSeconds: limits.idempotencyTtlSeconds, maxBacklog: limits.maxBacklog };
  // A cold member cache costs one fill; a membership change racing the fill costs another.
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await scripts.roomAppend(input);
    switch (result.status) {
      case 'OK':
      case 'DUPLICATE':
        return { id: result.id, seq: result.seq, createdAt: result.createdAt, duplicate: result.status === 'DUPLICATE' };
      case 'MEMBERS_UNCACHED':
        await membership.fill(msg.roomId);
        continue;
      default:
        throw appendStatusError(result.status);
    }
  }
  throw new ParleyError('SERVICE_UNAVAILABLE', 'room membership kept changing; retry');
}
