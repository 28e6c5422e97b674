import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { readPositionsOf, roomIdsOfUser } from '@parley/db';
import { encodeReadReceiptPrefix, ParleyError, type ReadState, type UnreadCount } from '@parley/protocol';
import { appendStatusError } from '@parley/redis';

/** Tries of a read mark: a cold read-position cache, a cold member cache and an unknown head cost one each. */
const MARK_ATTEMPTS = 5;

/**
 * The user's read position in each room, from Redis. Positions missing there (first use, or Redis
 * lost its data) are filled from Postgres, which the persisters keep up to date from the stream.
 */
export async function readPositions(app: FastifyInstance, userId: string, roomIds: number[]): Promise<number[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [filled, ...values] = await app.redis.hmget(app.keys.userReads(userId), '', ...roomIds.map(String));
    if (filled !== null) return values.map((v) => Number(v ?? 0));
    await fillReadPositions(app, userId);
  }
  throw new ParleyError('SERVICE_UNAVAILABLE', 'read positions could not be cached; retry');
}

async function fillReadPositions(app: FastifyInstance, userId: string): Promise<void> {
  await app.scripts.userReadsFill(userId, await readPositionsOf(app.db, userId));
}

/** Unread counts of every room of the user: head − read position, and their sum. */
export async function unreadCounts(app: FastifyInstance, userId: string): Promise<Static<typeof UnreadCount>> {
  const roomIds = await roomIdsOfUser(app.db, userId);
  const [heads, reads] = await Promise.all([app.roomEvents.heads(roomIds), readPositions(app, userId, roomIds)]);
  const chats = roomIds.map((chat_id, i) => {
    const head = heads[i]!;
    const read = Math.min(reads[i]!, head);
    return { chat_id, head_seq: head, last_read_seq: read, unread: head - read };
  });
  return { total_unread: chats.reduce((sum, c) => sum + c.unread, 0), chats };
}

/**
 * Moves the user's read positions forward (seq 0: to the head) through the read-mark script, which
 * also queues each change for Postgres and publishes a receipt to the room. Each room whose position
 * moved is then pushed to all of the user's sockets as `read_state`, with the total as of the marks.
 * Returns every room's state, and whether its position moved.
 */
export async function markRead(
  app: FastifyInstance,
  userId: string,
  marks: Array<{ roomId: number; seq: number }>,
): Promise<Array<{ state: Static<typeof ReadState>; moved: boolean }>> {
  const moved = await Promise.all(marks.map(({ roomId, seq }) => markOne(app, userId, roomId, seq)));
  const counts = await unreadCounts(app, userId);
  const byRoom = new Map(counts.chats.map((c) => [c.chat_id, c]));
  const states = marks.map(({ roomId }, i) => {
    const now = byRoom.get(roomId);
    const last_read_seq = Math.max(moved[i]!.lastReadSeq, now?.last_read_seq ?? 0);
    return { chat_id: roomId, last_read_seq, unread: now ? Math.max(0, now.head_seq - last_read_seq) : 0, total_unread: counts.total_unread };
  });
  await Promise.all(states.filter((_, i) => moved[i]!.moved).map((state) => app.userHub.publish(userId, { type: 'read_state', ...state })));
  return states.map((state, i) => ({ state, moved: moved[i]!.moved }));
}

async function markOne(app: FastifyInstance, userId: string, roomId: number, seq: number): Promise<{ lastReadSeq: number; moved: boolean }> {
  for (let attempt = 0; attempt < MARK_ATTEMPTS; attempt++) {
    const result = await app.scripts.readMark(userId, roomId, seq, encodeReadReceiptPrefix(roomId, userId), app.config.streamMaxBacklog);
    switch (result.status) {
      case 'OK':
      case 'UNCHANGED':
        return { lastReadSeq: result.lastReadSeq, moved: result.status === 'OK' };
      case 'READS_UNCACHED':
        await fillReadPositions(app, userId);
        continue;
      case 'MEMBERS_UNCACHED':
        await app.membership.fill(roomId);
        continue;
      case 'HEAD_UNKNOWN':
        await app.roomEvents.heads([roomId]);
        continue;
      default:
        throw appendStatusError(result.status);
    }
  }
  throw new ParleyError('SERVICE_UNAVAILABLE', 'the read position could not be set; retry');
}
