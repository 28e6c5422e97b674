import type { ClientFrameOf } from '@parley/protocol';
import { appendMessage } from '../messages/append-message.js';
import type { Connection } from './connection.js';

/** send_message: append through the one write path, then ack with the id and seq. */
export async function sendMessage(conn: Connection, frame: ClientFrameOf<'send_message'>): Promise<void> {
  const ack = await appendMessage(conn.app, {
    roomId: frame.chat_id,
    senderId: conn.caller.id,
    clientId: frame.client_id,
    messageType: frame.message_type,
    content: frame.content,
  });
  conn.send({ type: 'ack', ...ack });
}
