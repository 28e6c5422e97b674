import type { Cluster, Redis } from 'ioredis';
import { mastersOf, type RedisClient } from './connect.js';
import { slotOf } from './partitions.js';

/** How long a master's count of online replicas is taken as it was last read. */
const ONLINE_REPLICAS_TTL_MS = 1000;

interface OnlineReplicas {
  count: number;
  readAt: number;
  reading?: Promise<number>;
}

/** Per master connection, its online replicas as last read. */
const onlineReplicas = new WeakMap<Redis, OnlineReplicas>();

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
 * The replicas `master` has online (in sync, taking its stream: `ROLE` lists those), read at most
 * once per ONLINE_REPLICAS_TTL_MS; callers meanwhile share the read.
 */
async function onlineReplicasOf(master: Redis): Promise<number> {
  let known = onlineReplicas.get(master);
  if (!known) onlineReplicas.set(master, (known = { count: 0, readAt: -Infinity }));
  if (Date.now() - known.readAt < ONLINE_REPLICAS_TTL_MS) return known.count;
  const entry = known;
  entry.reading ??= master
    .call('ROLE')
    .then((role) => {
      const [kind, , replicas] = role as [string, number, unknown[]];
      entry.count = kind === 'master' ? replicas.length : 0;
      entry.readAt = Date.now();
      return entry.count;
    })
    .finally(() => (entry.reading = undefined));
  return entry.reading;
}

/**
 * Waits until every replica the master of `key`'s slot has online, and at least `atLeast`, has
 * every write this process sent to it (WAIT counts a connection's own writes, so it must go where
 * the write went), or `timeoutMs` passed. Every online replica, not `atLeast` of them: a failover
 * may promote any replica (Redis Cluster ranks them by replication offsets known through gossip,
 * which lag), and a replica whose link was silently cut stays online at the master until
 * `repl-timeout`, so an ack that waited for fewer could be gone on the promoted one. Resolves with
 * how many have them (`reached`) and how many were needed (`wanted`).
 */
export async function waitForReplicas(redis: RedisClient, key: string, atLeast: number, timeoutMs: number): Promise<{ reached: number; wanted: number }> {
  const master = masterOfKey(redis, key);
  if (!master) return { reached: 0, wanted: atLeast };
  const wanted = Math.max(atLeast, await onlineReplicasOf(master));
  return { reached: Number(await master.call('WAIT', wanted, timeoutMs)), wanted };
}
