import type { ClientFrameOf } from '@parley/protocol';
import { appendMessage } from '../messages/append-message.js';
import type { Connection } from './connection.js';

/** send_message: append through the one write path, then ack with the id and seq. */
export async function sendMessage(conn: Connection, frame: ClientFrameOf<'send_message'>): Promise<void> {
  const { app } = conn;
  const appended = await appendMessage(
    app.scripts,
    app.membership,
    { idempotencyTtlSeconds: app.config.idempotencyTtlSeconds, maxBacklog: app.config.streamMaxBacklog },
    { roomId: frame.chat_id, senderId: conn.caller.id, clientId: frame.client_id, messageType: frame.message_type, content: frame.content },
  );
  conn.send({
    type: 'ack',
    client_id: frame.client_id,
    chat_id: frame.chat_id,
    id: appended.id,
    seq: appended.seq,
    created_at: appended.createdAt,
    duplicate: appended.duplicate,
  });
}
