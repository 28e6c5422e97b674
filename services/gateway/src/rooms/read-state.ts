import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { roomIdsOfUser } from '@parley/db';
import { ParleyError, receiptAroundSeq, type MessageStatus, type ReadState, type UnreadCount } from '@parley/protocol';
import { positionField, sentField, type PositionKind } from '@parley/redis';
import { fillPositions, withFilledCaches } from './cache-fills.js';

/**
 * The user's read position in each room, from Redis: the higher of the position they marked and
 * their own newest message there (what a member sends they have read; room-append.lua). Positions
 * missing there (first use, or Redis lost its data) are filled from Postgres, which the persisters
 * keep up to date.
 */
export async function positions(app: FastifyInstance, userId: string, roomIds: number[]): Promise<number[]> {
  const [marked, sent] = await Promise.all([
    positionFields(
      app,
      userId,
      roomIds.map((id) => positionField('read', id)),
    ),
    sentSeqs(app, userId, roomIds),
  ]);
  return marked.map((seq, i) => Math.max(seq, sent[i]!));
}

/** The seq of the user's newest message in each room, 0 if none in Redis. */
async function sentSeqs(app: FastifyInstance, userId: string, roomIds: number[]): Promise<number[]> {
  const field = sentField(userId);
  return Promise.all(roomIds.map(async (id) => Number((await app.redis.hget(app.keys.roomMeta(id), field)) ?? 0)));
}

/** The values of these fields of the user's positions hash, in one read (filled first when cold). */
async function positionFields(app: FastifyInstance, userId: string, fields: string[]): Promise<number[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [filled, ...values] = await app.redis.hmget(app.keys.userPositions(userId), '', ...fields);
    if (filled !== null) return values.map((v) => Number(v ?? 0));
    await fillPositions(app, userId);
  }
  throw new ParleyError('SERVICE_UNAVAILABLE', 'read positions could not be cached; retry');
}

/** Unread counts of every room of the user: head − read position, and their sum. */
export async function unreadCounts(app: FastifyInstance, userId: string): Promise<Static<typeof UnreadCount>> {
  const roomIds = await roomIdsOfUser(app.db, userId);
  const [heads, reads] = await Promise.all([app.roomEvents.heads(roomIds), positions(app, userId, roomIds)]);
  const chats = roomIds.map((chat_id, i) => {
    const head = heads[i]!;
    const read = Math.min(reads[i]!, head);
    return { chat_id, head_seq: head, last_read_seq: read, unread: head - read };
  });
  return { total_unread: chats.reduce((sum, c) => sum + c.unread, 0), chats };
}

/**
 * Moves the user's read positions forward (seq 0: to the head) through the position-mark script,
 * which also queues each change for Postgres and publishes a receipt to the room. Each room whose
 * position moved is then pushed to all of the user's sockets as `read_state`, with the total as of
 * the marks. Returns every room's state, and whether its position moved.
 */
export async function markRead(
  app: FastifyInstance,
  userId: string,
  marks: Array<{ roomId: number; seq: number }>,
): Promise<Array<{ state: Static<typeof ReadState>; moved: boolean }>> {
  const moved = await Promise.all(marks.map(({ roomId, seq }) => mark(app, 'read', userId, roomId, seq)));
  const counts = await unreadCounts(app, userId);
  const byRoom = new Map(counts.chats.map((c) => [c.chat_id, c]));
  const states = marks.map(({ roomId }, i) => {
    const now = byRoom.get(roomId);
    const last_read_seq = Math.max(moved[i]!.position, now?.last_read_seq ?? 0);
    return { chat_id: roomId, last_read_seq, unread: now ? Math.max(0, now.head_seq - last_read_seq) : 0, total_unread: counts.total_unread };
  });
  await Promise.all(states.filter((_, i) => moved[i]!.moved).map((state) => app.userHub.publish(userId, { type: 'read_state', ...state })));
  return states.map((state, i) => ({ state, moved: moved[i]!.moved }));
}

/** The user's client has received a direct room up to `seq`; the room gets a delivery receipt if that moved. */
export async function markReceived(app: FastifyInstance, userId: string, roomId: number, seq: number): Promise<void> {
  await requireDirectMember(app, roomId, userId);
  await mark(app, 'delivered', userId, roomId, seq);
}

/**
 * A message's status for its sender in a direct room: read once the peer has read up to it,
 * delivered once the peer's client has received it (or read it), sent before.
 */
export async function messageStatus(app: FastifyInstance, userId: string, roomId: number, seq: number): Promise<Static<typeof MessageStatus>> {
  await requireDirectMember(app, roomId, userId);
  if (seq > (await app.roomEvents.head(roomId))) throw new ParleyError('MESSAGE_NOT_FOUND');
  const peer = (await app.membership.members(roomId)).find((id) => id !== userId);
  if (peer === undefined) return { chat_id: roomId, seq, status: 'sent' };
  const [[marked, delivered], [sent]] = await Promise.all([
    positionFields(app, peer, [positionField('read', roomId), positionField('delivered', roomId)]),
    sentSeqs(app, peer, [roomId]),
  ]);
  const read = Math.max(marked!, sent!);
  const status = read >= seq ? 'read' : delivered! >= seq ? 'delivered' : 'sent';
  return { chat_id: roomId, seq, status };
}

/** Members learn the room's type; others learn only that they are not members. */
async function requireDirectMember(app: FastifyInstance, roomId: number, userId: string): Promise<void> {
  if (!(await app.membership.isMember(roomId, userId))) throw new ParleyError('ROOM_NOT_MEMBER');
  if ((await app.membership.roomType(roomId)) !== 'direct') throw new ParleyError('ROOM_NOT_DIRECT');
}

async function mark(app: FastifyInstance, kind: PositionKind, userId: string, roomId: number, seq: number): Promise<{ position: number; moved: boolean }> {
  const receipt = receiptAroundSeq(kind === 'read' ? 'read_receipt' : 'delivery_receipt', roomId, userId);
  const result = await withFilledCaches(app, { roomId, userId }, ['OK', 'UNCHANGED'], () =>
    app.scripts.positionMark(kind, userId, roomId, seq, receipt, app.config.streamMaxBacklog),
  );
  return { position: result.position, moved: result.status === 'OK' };
}
