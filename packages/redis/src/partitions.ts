import keySlot from 'cluster-key-slot';

/** Redis Cluster's hash slots. */
export const SLOTS = 16384;

/** The slot of a key in Redis Cluster, honouring its `{hash tag}` (the CRC16 ioredis routes by). */
export function slotOf(key: string): number {
  return keySlot(key);
}

const MASK64 = (1n << 64n) - 1n;

/** FNV-1a, 64 bits, of a string's UTF-8 bytes: the key jumpHash spreads. */
export function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & MASK64;
  return hash;
}

/**
 * Jump consistent hash (Lamping and Veach, 2014): a key's bucket among `buckets`, such that going
 * from n to n + 1 buckets moves only 1/(n + 1) of the keys. Centrifuge maps channels to partitions
 * the same way (internal/redispartition).
 */
export function jumpHash(key: bigint, buckets: number): number {
  let bucket = -1;
  let next = 0;
  let k = key;
  while (next < buckets) {
    bucket = next;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    next = Math.floor((bucket + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return bucket;
}

/** The partition a room's keys, channel and events live in, of `partitions`: the same in every process. */
export function partitionOfRoom(roomId: number, partitions: number): number {
  return jumpHash(fnv1a64(String(roomId)), partitions);
}

/**
 * One hash tag per partition, chosen so that tag i hashes to a slot in the i-th of `partitions`
 * equal runs of the slot space. Shards own contiguous slot ranges (as `redis-cli --cluster create`
 * and an even rebalance lay them out), so every shard gets its share of partitions, give or take
 * one. Bare tags `{0}`…`{n}` do not: CRC16 scatters them (centrifuge#554 found 5 to 10 of 128 per
 * shard over 16). Derived, not stored, so every process computes the same table.
 */
export function partitionTags(partitions: number): string[] {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > SLOTS) throw new Error(`partitions must be a whole number from 1 to ${SLOTS}`);
  const tags: string[] = [];
  for (let i = 0; i < partitions; i++) {
    const [low, high] = [Math.floor((i * SLOTS) / partitions), Math.floor(((i + 1) * SLOTS) / partitions)];
    for (let k = 0; ; k++) {
      const tag = `p${i}-${k}`;
      const slot = slotOf(tag);
      if (slot >= low && slot < high) {
        tags.push(tag);
        break;
      }
    }
  }
  return tags;
}
