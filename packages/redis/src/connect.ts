import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to Parley's Redis, whichever mode it runs in. */
export type RedisClient = Redis | Cluster;

/** The masters of a client: the one server (standalone, or the master Sentinel named), or each master of the cluster. */
export function mastersOf(redis: RedisClient): Redis[] {
  return redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where Parley's Redis is: one server (`REDIS_URL`, the default), a Redis Cluster (seed nodes, any
 * few of its masters or replicas: the client learns the rest), or a master watched by Sentinels.
 */
export type RedisTarget =
  { mode: 'standalone'; url: string } | { mode: 'cluster'; nodes: HostPort[] } | { mode: 'sentinel'; sentinels: HostPort[]; name: string };

/** The settings a service reads for its Redis: exactly one mode may be given. */
export interface RedisSettings {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_MASTER?: string;
}

/** `host:port,host:port`, as REDIS_CLUSTER_NODES and REDIS_SENTINELS take them. */
function hostPorts(name: string, list: string): HostPort[] {
  const parsed = list.split(',').map((item) => {
    const m = /^\s*([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})\s*$/.exec(item);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) throw new Error(`${name}: "${item.trim()}" is not host:port`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
  if (parsed.length === 0) throw new Error(`${name} is empty`);
  return parsed;
}

export function redisTargetOf(env: RedisSettings): RedisTarget {
  if (env.REDIS_CLUSTER_NODES && env.REDIS_SENTINELS) throw new Error('give REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both');
  if (env.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES) };
  if (env.REDIS_SENTINELS) {
    if (!env.REDIS_SENTINEL_MASTER) throw new Error('REDIS_SENTINELS needs REDIS_SENTINEL_MASTER, the name the Sentinels know the master by');
    return { mode: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', env.REDIS_SENTINELS), name: env.REDIS_SENTINEL_MASTER };
  }
  if (env.REDIS_SENTINEL_MASTER) throw new Error('REDIS_SENTINEL_MASTER needs REDIS_SENTINELS');
  return { mode: 'standalone', url: env.REDIS_URL };
}

/**
 * Reconnects after 50 ms, doubling to at most 2 s, with up to 200 ms of jitter so that the
 * gateways of a cluster do not all knock at once. ioredis 6's own default waits up to 5.2 s, which
 * would hold every send of a gateway that long after a Redis restart.
 */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** (times - 1), 2000) + Math.floor(Math.random() * 200);
}

/**
 * A connection to Redis, as every Parley process opens one: the RESP3 handshake with v5's reply
 * shapes (ioredis 6's defaults), the reconnect delay above, and a name that says who holds it in
 * `CLIENT LIST`. `options` adds what the role needs (timeouts, offline queue, retries per request).
 * In a cluster they apply to each node's connection; sharded subscriptions get one connection per
 * master (`shardedSubscribers`), each following its slots when they move.
 */
export function connectRedis(target: RedisTarget, connectionName: string, options: RedisOptions = {}): RedisClient {
  const redisOptions: RedisOptions = { retryStrategy: reconnectDelay, connectionName, ...options };
  switch (target.mode) {
    case 'standalone':
      return new Redis(target.url, redisOptions);
    case 'sentinel':
      return new Redis({ ...redisOptions, sentinels: target.sentinels, name: target.name, sentinelRetryStrategy: reconnectDelay });
    case 'cluster': {
      const { lazyConnect, enableOfflineQueue, ...perNode } = redisOptions;
      const clusterOptions: ClusterOptions = {
        redisOptions: perNode,
        lazyConnect,
        enableOfflineQueue,
        maxRedirections: 16,
        // A failover or a moved slot answers MOVED, TRYAGAIN or CLUSTERDOWN for a few seconds:
        // wait and retry, within the command's own timeout.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        clusterRetryStrategy: reconnectDelay,
        shardedSubscribers: true,
        slotsRefreshInterval: 2000,
      };
      return new Cluster(target.nodes, clusterOptions);
    }
  }
}

const DRAIN_MS = 2_000;

/**
 * Closes a client for good. With `drain`, QUIT first lets the replies in flight arrive, for at
 * most DRAIN_MS: a node that answers nothing (SIGSTOPped, cut off by a partition) holds a QUIT for
 * ever, and with it the exit of the process closing (a persister stopped during a replica's stall
 * never exited). Then at once: what is still in flight fails. A cluster client of ioredis 6.0.0
 * re-arms its periodic slot refresh when one is in flight at `disconnect()`, and that timer then
 * keeps the process alive for ever (packages/redis/test/close.test.ts): wait for the refresh to end,
 * then clear the timer it armed.
 */
export async function closeRedis(client: RedisClient, { drain = false } = {}): Promise<void> {
  if (drain) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.quit().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
    clearTimeout(timer);
  }
  client.disconnect();
  if (!(client instanceof Cluster)) return;
  await new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()));
  clearTimeout((client as unknown as { slotsTimer: NodeJS.Timeout | null }).slotsTimer ?? undefined);
}
