import { randomUUID } from 'node:crypto';
import type { Keys, RedisClient } from '@parley/redis';

/**
 * Appends an event the way room-append does (head, room log, the partition's event stream) but
 * with no validation and no publish: what a bug, an older gateway or a hand-edited stream could
 * leave there, or, to a relay, a channel that lost the event without a word. Returns its seq.
 */
export async function appendUnpublished(redis: RedisClient, keys: Keys, room: number, event: (seq: number) => string): Promise<number> {
  const seq = await redis.hincrby(keys.roomMeta(room), 'seq', 1);
  const json = event(seq);
  await redis.xadd(keys.roomLog(room), `${seq}-0`, 'e', json);
  await redis.xadd(keys.eventStream(keys.partitionOf(room)), '*', 'r', String(room), 's', String(seq), 'e', json);
  return seq;
}

/** A text message's event as room-append writes it; `extra` is spliced in before the closing brace. */
export const rawMessageEvent =
  (room: number, sender: string, extra = '') =>
  (seq: number) =>
    `{"seq":${seq},"type":"message","chat_id":${room},"id":"${randomUUID()}","sender_id":"${sender}","client_id":"raw-${seq}",` +
    `"message_type":"text","content":"raw ${seq}","created_at":"${new Date().toISOString()}"${extra}}`;
