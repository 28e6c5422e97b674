import type { Cluster, Redis } from 'ioredis';
import { mastersOf, type RedisClient } from './connect.js';
import { slotOf } from './partitions.js';

/**
 * The connection to the master serving `key`'s slot now, as the client's slot map has it (the one
 * server outside a cluster); undefined while the map names no master it is connected to.
 */
export function masterOfKey(redis: RedisClient, key: string): Redis | undefined {
  if (!redis.isCluster) return redis as Redis;
  const address = (redis as Cluster).slots[slotOf(key)]?.[0];
  return mastersOf(redis).find((n) => `${n.options.host}:${n.options.port}` === address);
}

/**
 * Waits until `replicas` replicas have every write this process sent to the master of `key`'s
 * slot (WAIT counts a connection's own writes, so it must go where the write went), or
 * `timeoutMs` passed. Resolves with how many have them.
 */
export async function waitForReplicas(redis: RedisClient, key: string, replicas: number, timeoutMs: number): Promise<number> {
  const master = masterOfKey(redis, key);
  return master ? Number(await master.call('WAIT', replicas, timeoutMs)) : 0;
}
