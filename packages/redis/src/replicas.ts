import type { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './connect.js';
import { slotOf } from './partitions.js';

/**
 * Waits until `replicas` replicas have every write this process sent to the master of `key`'s
 * slot (WAIT counts a connection's own writes, so it must go where the write went), or
 * `timeoutMs` passed. Resolves with how many have them.
 */
export async function waitForReplicas(redis: RedisClient, key: string, replicas: number, timeoutMs: number): Promise<number> {
  let node = redis as Redis;
  if (redis.isCluster) {
    const cluster = redis as Cluster;
    const address = cluster.slots[slotOf(key)]?.[0];
    const master = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === address);
    if (!master) return 0;
    node = master;
  }
  return Number(await node.call('WAIT', replicas, timeoutMs));
}
