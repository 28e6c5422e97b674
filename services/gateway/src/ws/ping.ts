import type { Connection } from './connection.js';

/** ping: answered with pong, for clients that cannot send WebSocket pings. */
export async function ping(conn: Connection): Promise<void> {
  conn.send({ type: 'pong' });
}
