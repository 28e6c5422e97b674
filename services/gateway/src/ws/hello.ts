import { roomIdsOfUser } from '@parley/db';
import type { ClientFrameOf } from '@parley/protocol';
import type { Connection } from './connection.js';
import { headsAndReads } from '../rooms/read-state.js';

/**
 * hello: the connection starts receiving every room of its user, whose member sets are cached by
 * then (a sender's first message needs them; the first to connect after a deploy, a failover or
 * an idle hour fills them for the room). Rooms listed in `resume` replay
 * what followed `last_seq`; the others go live from the head seq that `welcome` reports. A resume
 * under another `epoch` (Redis restarted since) past a room's floor is rewound to the floor first.
 */
export async function hello(conn: Connection, frame: ClientFrameOf<'hello'>): Promise<void> {
  conn.acceptHello();
  const { core, caller } = conn;
  // Subscribe to membership changes before reading memberships, so that none falls between.
  await core.userHub.join(caller.id, conn);
  const roomIds = await roomIdsOfUser(core.db, caller.id);
  const [{ heads, reads }] = await Promise.all([headsAndReads(core, caller.id, roomIds), core.membership.warm(roomIds)]);
  const resume = new Map((frame.resume ?? []).map((r) => [r.chat_id, r.last_seq]));
  const epoch = core.redisRecovery.epoch();
  // Seqs received from an earlier Redis above a room's floor may name events that are gone.
  const rewound = new Map<number, number>();
  if (frame.epoch !== undefined && frame.epoch !== epoch) {
    // Only rooms whose partition has had another master since (all of them, if that is unknown).
    const changed = await core.redisRecovery.partitionsChangedSince(frame.epoch);
    const resumed = roomIds.filter((id) => resume.has(id) && (changed === 'all' || changed.has(core.keys.partitionOf(id))));
    const floors = await core.roomEvents.floors(resumed);
    resumed.forEach((id, i) => resume.get(id)! > floors[i]! && rewound.set(id, floors[i]!));
  }
  conn.send({
    type: 'welcome',
    user_id: caller.id,
    node_id: core.config.nodeId,
    chats: roomIds.map((chat_id, i) => ({ chat_id, head_seq: heads[i]!, last_read_seq: Math.min(reads[i]!, heads[i]!) })),
    token_expires_at: new Date(caller.expiresAt).toISOString(),
    epoch,
  });
  for (const [chat_id, head_seq] of rewound) conn.send({ type: 'chat_rewound', chat_id, head_seq });
  await Promise.all(roomIds.map((roomId, i) => conn.attach(roomId, Math.min(rewound.get(roomId) ?? resume.get(roomId) ?? heads[i]!, heads[i]!))));
  await conn.setPresence('online');
}
