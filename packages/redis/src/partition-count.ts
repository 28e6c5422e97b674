import type { RedisClient } from './connect.js';
import type { Keys } from './keys.js';

/**
 * Records the deployment's number of partitions in Redis, or checks it against the one recorded:
 * a process that put a room in another partition than its peers would write where no persister
 * reads and subscribe where nobody publishes. Every gateway and persister calls this before it
 * touches a room; the CLI only checks (`record: false`). Throws when the numbers differ.
 */
export async function claimPartitions(redis: RedisClient, keys: Keys, { record = true } = {}): Promise<void> {
  const key = keys.partitionCount();
  if (record) await redis.set(key, keys.partitions, 'NX');
  const recorded = await redis.get(key);
  if (recorded !== null && Number(recorded) !== keys.partitions) {
    throw new Error(
      `this Redis holds data of ${recorded} partitions but REDIS_PARTITIONS is ${keys.partitions}; every process must use the same number (see docs/operations.md)`,
    );
  }
}
