import type { RedisClient } from './connect.js';
import type { Keys } from './keys.js';

/**
 * Records the deployment's number of partitions in Redis, or checks it against the one recorded:
 * a process that put a room in another partition than its peers would write where no persister
 * reads and subscribe where nobody publishes. Every gateway and persister calls this before it
 * touches a room; the CLI only checks (`record: false`). Throws when the numbers differ, and when
 * REDIS_URL names a node of a Redis Cluster (its first command would otherwise die of a MOVED reply).
 */
export async function claimPartitions(redis: RedisClient, keys: Keys, { record = true } = {}): Promise<void> {
  if (!redis.isCluster && /^cluster_enabled:1\b/m.test(await redis.info('cluster'))) {
    throw new Error("REDIS_URL names a node of a Redis Cluster: give the cluster's nodes in REDIS_CLUSTER_NODES (host:port,…) instead");
  }
  const key = keys.partitionCount();
  if (record) await redis.set(key, keys.partitions, 'NX');
  const recorded = await redis.get(key);
  if (recorded !== null && Number(recorded) !== keys.partitions) {
    throw new Error(
      `this Redis holds data of ${recorded} partitions but REDIS_PARTITIONS is ${keys.partitions}; every process must use the same number (see docs/operations.md)`,
    );
  }
}
