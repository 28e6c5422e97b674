import type { ClientFrameOf, ServerFrameOf } from '@parley/protocol';
import { sendUserMessage } from '../messages/append-message.js';
import type { Connection } from './connection.js';

/**
 * send_message: append through the one write path; the answer is the ack with the id and seq (the
 * endpoint sends it, unless SEND_TIMEOUT_MS passed first and the send was refused).
 */
export async function sendMessage(conn: Connection, frame: ClientFrameOf<'send_message'>): Promise<ServerFrameOf<'ack'>> {
  const { type: _type, chat_id: roomId, ...input } = frame;
  const ack = await sendUserMessage(conn.core, conn.caller.id, roomId, input);
  return { type: 'ack', ...ack };
}
