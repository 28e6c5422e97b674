import type { ClientFrameOf } from '@parley/protocol';
import { sendUserMessage } from '../messages/append-message.js';
import type { Connection } from './connection.js';

/** send_message: append through the one write path, then ack with the id and seq. */
export async function sendMessage(conn: Connection, frame: ClientFrameOf<'send_message'>): Promise<void> {
  const { type: _type, chat_id: roomId, ...input } = frame;
  const ack = await sendUserMessage(conn.core, conn.caller.id, roomId, input);
  conn.send({ type: 'ack', ...ack });
}
