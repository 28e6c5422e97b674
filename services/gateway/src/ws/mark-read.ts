import type { ClientFrameOf } from '@parley/protocol';
import { markRead as mark, markReceived } from '../rooms/read-state.js';
import type { Connection } from './connection.js';

/**
 * mark_read: a moved position reaches this socket as `read_state` through the user's channel, like
 * the user's other sockets; an unmoved one is answered here, so every mark_read gets its answer.
 */
export async function markRead(conn: Connection, frame: ClientFrameOf<'mark_read'>): Promise<void> {
  const [state] = await mark(conn.core, conn.caller.id, [{ roomId: frame.chat_id, seq: frame.seq ?? 0 }]);
  if (state && !state.moved) conn.send({ type: 'read_state', ...state.state });
}

/** received: the client has the direct room up to seq (no answer; the room gets a delivery receipt). */
export async function received(conn: Connection, frame: ClientFrameOf<'received'>): Promise<void> {
  await markReceived(conn.core, conn.caller.id, frame.chat_id, frame.seq);
}
