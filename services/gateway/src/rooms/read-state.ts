import type { GatewayCore } from '../core.js';
import type { Static } from '@sinclair/typebox';
import { roomIdsOfUser } from '@parley/db';
import { ParleyError, receiptAroundSeq, type MessageStatus, type ReadState, type UnreadCount } from '@parley/protocol';
import { positionField, sentField, type PositionKind } from '@parley/redis';
import { fillPositions, withFilledCaches } from './cache-fills.js';
import { readThrough } from './read-through.js';

/**
 * Each room's head and the user's read position in it, from Redis: the read position is the higher
 * of the position they marked and their own newest message there (what a member sends they have
 * read; room-append.lua), which the room's meta hash holds beside the head (one read per room).
 * Positions missing from Redis (first use, or Redis lost its data) are filled from Postgres, which
 * the persisters keep up to date.
 */
export async function headsAndReads(core: GatewayCore, userId: string, roomIds: number[]): Promise<{ heads: number[]; reads: number[] }> {
  const [{ heads, fields: sent }, marked] = await Promise.all([
    core.roomEvents.headsAnd(roomIds, sentField(userId)),
    positionFields(
      core,
      userId,
      roomIds.map((id) => positionField('read', id)),
    ),
  ]);
  return { heads, reads: marked.map((seq, i) => Math.max(seq, sent[i]!)) };
}

/** The values of these fields of the user's positions hash, in one read (filled first when cold). */
async function positionFields(core: GatewayCore, userId: string, fields: string[]): Promise<number[]> {
  return readThrough(
    'the read positions',
    async () => {
      const [filled, ...values] = await core.redis.hmget(core.keys.userPositions(userId), '', ...fields);
      return filled === null ? undefined : values.map((v) => Number(v ?? 0));
    },
    () => fillPositions(core, userId),
  );
}

/**
 * Unread counts of every room of the user, and their sum: the messages of others after the read
 * position, not counting system messages, edits, deletions, nor deleted or recalled messages.
 */
export async function unreadCounts(core: GatewayCore, userId: string): Promise<Static<typeof UnreadCount>> {
  const roomIds = await roomIdsOfUser(core.db, userId);
  const { heads, reads } = await headsAndReads(core, userId, roomIds);
  const positions = roomIds.map((roomId, i) => ({ roomId, after: Math.min(reads[i]!, heads[i]!), head: heads[i]! }));
  const unread = await core.roomEvents.unreadMessages(userId, positions);
  const chats = positions.map(({ roomId, after, head }, i) => ({ chat_id: roomId, head_seq: head, last_read_seq: after, unread: unread[i]! }));
  return { total_unread: chats.reduce((sum, c) => sum + c.unread, 0), chats };
}

/**
 * Moves the user's read positions forward (seq 0: to the head) through the position-mark script,
 * which also queues each change for Postgres and publishes a receipt to the room. Each room whose
 * position moved is then pushed to all of the user's sockets as `read_state`, with the total as of
 * the marks. Returns every room's state, and whether its position moved.
 */
export async function markRead(
  core: GatewayCore,
  userId: string,
  marks: Array<{ roomId: number; seq: number }>,
): Promise<Array<{ state: Static<typeof ReadState>; moved: boolean }>> {
  const moved = await Promise.all(marks.map(({ roomId, seq }) => mark(core, 'read', userId, roomId, seq)));
  const counts = await unreadCounts(core, userId);
  const byRoom = new Map(counts.chats.map((c) => [c.chat_id, c]));
  const states = marks.map(({ roomId }, i) => {
    const now = byRoom.get(roomId);
    return {
      chat_id: roomId,
      last_read_seq: Math.max(moved[i]!.position, now?.last_read_seq ?? 0),
      unread: now?.unread ?? 0,
      total_unread: counts.total_unread,
    };
  });
  await Promise.all(states.filter((_, i) => moved[i]!.moved).map((state) => core.userHub.publish(userId, { type: 'read_state', ...state })));
  return states.map((state, i) => ({ state, moved: moved[i]!.moved }));
}

/** The user's client has received a direct room up to `seq`; the room gets a delivery receipt if that moved. */
export async function markReceived(core: GatewayCore, userId: string, roomId: number, seq: number): Promise<void> {
  await requireDirectMember(core, roomId, userId);
  await mark(core, 'delivered', userId, roomId, seq);
}

/**
 * A message's status for its sender in a direct room: read once the peer has read up to it,
 * delivered once the peer's client has received it (or read it), sent before.
 */
export async function messageStatus(core: GatewayCore, userId: string, roomId: number, seq: number): Promise<Static<typeof MessageStatus>> {
  await requireDirectMember(core, roomId, userId);
  const peer = (await core.membership.members(roomId)).find((id) => id !== userId);
  const {
    heads: [head],
    fields: [sent],
  } = await core.roomEvents.headsAnd([roomId], peer === undefined ? undefined : sentField(peer));
  if (seq > head!) throw new ParleyError('MESSAGE_NOT_FOUND');
  if (peer === undefined) return { chat_id: roomId, seq, status: 'sent' };
  const [marked, delivered] = await positionFields(core, peer, [positionField('read', roomId), positionField('delivered', roomId)]);
  const read = Math.max(marked!, sent!);
  const status = read >= seq ? 'read' : delivered! >= seq ? 'delivered' : 'sent';
  return { chat_id: roomId, seq, status };
}

/** Members learn the room's type; others learn only that they are not members. */
async function requireDirectMember(core: GatewayCore, roomId: number, userId: string): Promise<void> {
  if (!(await core.membership.isMember(roomId, userId))) throw new ParleyError('ROOM_NOT_MEMBER');
  if ((await core.membership.roomType(roomId)) !== 'direct') throw new ParleyError('ROOM_NOT_DIRECT');
}

async function mark(core: GatewayCore, kind: PositionKind, userId: string, roomId: number, seq: number): Promise<{ position: number; moved: boolean }> {
  const receipt = receiptAroundSeq(kind === 'read' ? 'read_receipt' : 'delivery_receipt', roomId, userId);
  const result = await withFilledCaches(core, { roomId, userId }, ['OK', 'UNCHANGED'], () =>
    core.scripts.positionMark(kind, userId, roomId, seq, receipt, core.config.streamMaxBacklog),
  );
  return { position: result.position, moved: result.status === 'OK' };
}
