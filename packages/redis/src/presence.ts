import type { RedisClient } from './connect.js';
import type { UserPresence } from '@parley/protocol';
import type { Keys } from './keys.js';

/** The gateways that stamped the presence node set within the TTL. */
export function liveNodes(redis: RedisClient, keys: Keys, ttlMs: number): Promise<string[]> {
  return redis.zrangebyscore(keys.presenceNodes(), Date.now() - ttlMs, '+inf');
}

/**
 * Each user's presence, aggregated over the live gateways' presence hashes: online if any has them
 * online, away if only away, offline otherwise (see the gateway's users/presence.ts for the writes).
 */
export async function readPresence(redis: RedisClient, keys: Keys, ttlMs: number, userIds: string[]): Promise<UserPresence[]> {
  if (userIds.length === 0) return [];
  const live = await liveNodes(redis, keys, ttlMs);
  const pipeline = redis.pipeline();
  for (const node of live) pipeline.hmget(keys.presenceNode(node), ...userIds);
  pipeline.hmget(keys.presenceLastSeen(), ...userIds);
  const replies = ((await pipeline.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return v as Array<string | null>;
  });
  const lastSeen = replies.pop()!;
  return userIds.map((user_id, i) => {
    const states = replies.map((r) => r[i]);
    return presenceOf(user_id, states.includes('online') ? 'online' : states.includes('away') ? 'away' : 'offline', lastSeen[i]);
  });
}

/** A user's presence as told to clients: when last seen (ms, as Redis holds it) only if not online and known. */
export function presenceOf(user_id: string, state: UserPresence['state'], seen: string | null | undefined): UserPresence {
  return { user_id, state, last_seen: state === 'online' || !seen ? null : new Date(Number(seen)).toISOString() };
}
