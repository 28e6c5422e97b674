import { encodeRoomSignal, ParleyError, type ClientFrameOf } from '@parley/protocol';
import type { Connection } from './connection.js';

/** How long a `start` holds at the receivers unless repeated. */
const TYPING_EXPIRES_MS = 6000;
/** A socket's repeated `start`s in one room are relayed at most this often. */
const TYPING_THROTTLE_MS = 2000;

/** When each socket last relayed a `start`, per room; kept only while typing. */
const lastStart = new WeakMap<Connection, Map<number, number>>();

/**
 * typing: relayed to the room as a signal, never stored. A `start` repeated within the throttle is
 * dropped (the receivers' copy has not expired yet); a `stop` is relayed once after a `start`.
 */
export async function typing(conn: Connection, frame: ClientFrameOf<'typing'>): Promise<void> {
  const { core, caller } = conn;
  if (!(await core.membership.isMember(frame.chat_id, caller.id))) throw new ParleyError('ROOM_NOT_MEMBER');
  const rooms = lastStart.get(conn) ?? new Map<number, number>();
  lastStart.set(conn, rooms);
  const last = rooms.get(frame.chat_id);
  const now = Date.now();
  if (frame.state === 'start') {
    if (last !== undefined && now - last < TYPING_THROTTLE_MS) return;
    rooms.set(frame.chat_id, now);
  } else {
    if (last === undefined) return;
    rooms.delete(frame.chat_id);
  }
  const signal = encodeRoomSignal({
    type: 'typing',
    chat_id: frame.chat_id,
    user_id: caller.id,
    state: frame.state,
    expires_in_ms: frame.state === 'start' ? TYPING_EXPIRES_MS : 0,
  });
  await core.redis.spublish(core.keys.roomChannel(frame.chat_id), signal);
}

/** set_presence: this socket is away (idle) or back online. */
export async function setPresence(conn: Connection, frame: ClientFrameOf<'set_presence'>): Promise<void> {
  await conn.setPresence(frame.state);
}
