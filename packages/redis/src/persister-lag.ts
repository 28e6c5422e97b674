import type { RedisClient } from './connect.js';
import { PERSISTER_GROUP, partitionNumbers, type Keys } from './keys.js';

export interface PersisterLag {
  /** Entries in the partition's event stream not yet persisted (the persisters delete what they persist). */
  streamLength: number;
  /** Entries a persister has read and not yet acked. */
  pending: number;
  /** Age of the oldest of them, 0 when none. */
  oldestPendingAgeSeconds: number;
}

/**
 * How far the persisters are behind on one partition, from its stream and its group's pending
 * summary (the oldest pending id is `<ms>-<n>`, the time it was added). No group yet (nothing ever
 * appended): none pending.
 */
export async function partitionLag(redis: RedisClient, keys: Keys, partition: number, now = Date.now()): Promise<PersisterLag> {
  const stream = keys.eventStream(partition);
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

/** The lag of every partition, and in total: the sums, and the oldest pending entry of any. */
export async function persisterLag(redis: RedisClient, keys: Keys, now = Date.now()): Promise<PersisterLag & { partitions: PersisterLag[] }> {
  const partitions = await Promise.all(partitionNumbers(keys).map((p) => partitionLag(redis, keys, p, now)));
  return {
    streamLength: partitions.reduce((sum, p) => sum + p.streamLength, 0),
    pending: partitions.reduce((sum, p) => sum + p.pending, 0),
    oldestPendingAgeSeconds: Math.max(0, ...partitions.map((p) => p.oldestPendingAgeSeconds)),
    partitions,
  };
}
