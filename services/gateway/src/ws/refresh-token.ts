import type { ClientFrameOf } from '@parley/protocol';
import type { Connection } from './connection.js';

/** refresh_token: the socket goes on under a fresh token of the same user, until its exp. */
export async function refreshToken(conn: Connection, frame: ClientFrameOf<'refresh_token'>): Promise<void> {
  conn.renew(await conn.verifyToken(frame.token));
  conn.send({ type: 'token_refreshed', expires_at: new Date(conn.caller.expiresAt).toISOString() });
}
