import type { Redis } from 'ioredis';
import { PERSISTER_GROUP, type Keys } from './keys.js';

export interface PersisterLag {
  /** Entries in the event stream not yet persisted (the persisters delete what they persist). */
  streamLength: number;
  /** Entries a persister has read and not yet acked. */
  pending: number;
  /** Age of the oldest of them, 0 when none. */
  oldestPendingAgeSeconds: number;
}

/**
 * How far the persisters are behind, from the stream and its group's pending summary (the oldest
 * pending id is `<ms>-<n>`, the time it was added). No group yet (nothing ever appended): none pending.
 */
export async function persisterLag(redis: Redis, keys: Keys, now = Date.now()): Promise<PersisterLag> {
  const stream = keys.eventStream();
  const [streamLength, summary] = await Promise.all([
    redis.xlen(stream),
    (redis.xpending(stream, PERSISTER_GROUP) as Promise<[number, string | null]>).catch((err: Error) => {
      if (err.message.includes('NOGROUP')) return [0, null] as [number, null];
      throw err;
    }),
  ]);
  const oldest = summary[1];
  return {
    streamLength,
    pending: Number(summary[0]),
    oldestPendingAgeSeconds: oldest ? Math.max(0, now - Number(oldest.slice(0, oldest.indexOf('-')))) / 1000 : 0,
  };
}
