import type { FastifyInstance } from 'fastify';
import { ParleyError } from '@parley/protocol';
import type { Caller } from '../plugins/auth.js';
import { appendMessage } from './append-message.js';
import { targetMessage } from './change-message.js';

/**
 * Forwards message `seq` of room `fromRoomId` into room `toRoomId`: a new message of the caller's,
 * with the original's type and current text, appended like any other (membership of the target
 * room, idempotency by `clientId` there). The copy points at the original message; forwarding a
 * forward points at the first original, so a chain of forwards still names its source.
 */
export async function forwardMessage(app: FastifyInstance, caller: Caller, fromRoomId: number, seq: number, toRoomId: number, clientId: string) {
  const source = await targetMessage(app, fromRoomId, seq, caller);
  if (source.message_type === 'system') throw new ParleyError('MESSAGE_NOT_FORWARDABLE');
  if (source.deleted_at) throw new ParleyError('MESSAGE_DELETED');
  return appendMessage(app, {
    roomId: toRoomId,
    senderId: caller.id,
    clientId,
    messageType: source.message_type,
    content: source.content,
    forwardedFrom: source.forwarded_from ?? { chat_id: source.chat_id, seq: source.seq, id: source.id, sender_id: source.sender_id },
  });
}
