import { liveNodes, pairsOf, parseClusterNodes, partitionNumbers, PERSISTER_GROUP, persisterLag, type RedisClient } from '@parley/redis';
import type { Redis } from 'ioredis';
import { withRedis, type Deployment } from './deployment.js';

export interface RedisTopology {
  mode: 'standalone' | 'cluster';
  /** Each master (in a cluster, each serving slots) with its replicas and whether each is linked. */
  masters: Array<{ address: string; slots: number; replicas: Array<{ address: string; connected: boolean }> }>;
  /** Nodes the cluster takes for dead (flag `fail`): gone until started again, or forgotten. */
  failed: string[];
  /**
   * Masters serving no slot: a node just started again that has not yet become a replica, or one
   * added and not yet given slots (`redis-cli --cluster rebalance`) or made a replica.
   */
  idle: string[];
  /**
   * Nothing missing: the cluster serves every slot, no node is failed or idle, and every master has
   * a replica linked (a promoted master whose replicas died would refuse writes under
   * `min-replicas-to-write`). One server is whole by itself.
   */
  whole: boolean;
}

export interface ClusterStatus {
  redis: RedisTopology;
  gateways: Array<{ node: string; last_heartbeat_ms_ago: number; sockets: number; users: number }>;
  persister: {
    /** Over every partition's event stream. */
    stream_length: number;
    pending: number;
    /** Entries Postgres refused, set aside in the dead-letter streams (`parley dead-letters`). */
    dead_letters: number;
    oldest_pending_age_seconds: number;
    /** Each consumer over all partitions: its pending entries summed, its idle time the least of any. */
    consumers: Array<{ name: string; pending: number; idle_ms: number }>;
    /** The partitions with a backlog, pending entries or dead letters; the others are idle. */
    partitions: Array<{ partition: number; stream_length: number; pending: number; dead_letters: number; oldest_pending_age_seconds: number }>;
  };
}

/**
 * What the cluster looks like from Redis: the gateways alive by their presence heartbeats (with
 * their sockets and users), and the persisters' lag (each partition's event stream, its group's
 * pending list, each consumer), in total and per partition. Read-only.
 */
export function clusterStatus(deployment: Deployment, presenceTtlMs: number): Promise<ClusterStatus> {
  return withRedis(deployment, async (redis, keys) => {
    const nodes = await liveNodes(redis, keys, presenceTtlMs);
    const now = Date.now();
    const gateways = await Promise.all(
      nodes.map(async (node) => {
        const [beat, sockets, users] = await Promise.all([
          redis.zscore(keys.presenceNodes(), node),
          redis.hget(keys.nodeSockets(), node),
          redis.hlen(keys.presenceNode(node)),
        ]);
        return { node, last_heartbeat_ms_ago: now - Number(beat), sockets: Number(sockets ?? 0), users };
      }),
    );
    const partitions = partitionNumbers(keys);
    const [lag, deadLetters, consumerLists] = await Promise.all([
      persisterLag(redis, keys, now),
      Promise.all(partitions.map((p) => redis.xlen(keys.deadLetters(p)))),
      // No stream or no group yet: no consumers either.
      Promise.all(partitions.map((p) => redis.xinfo('CONSUMERS', keys.eventStream(p), PERSISTER_GROUP).catch(() => []) as Promise<unknown[][]>)),
    ]);
    const consumers = new Map<string, { name: string; pending: number; idle_ms: number }>();
    for (const fields of consumerLists.flat()) {
      // XINFO answers each consumer as a flat list of field, value, field, value…
      const info = pairsOf(fields);
      const name = String(info.name);
      const seen = consumers.get(name) ?? { name, pending: 0, idle_ms: Infinity };
      consumers.set(name, { name, pending: seen.pending + Number(info.pending), idle_ms: Math.min(seen.idle_ms, Number(info.idle)) });
    }
    return {
      redis: await redisTopology(redis),
      gateways: gateways.sort((a, b) => a.node.localeCompare(b.node)),
      persister: {
        stream_length: lag.streamLength,
        pending: lag.pending,
        dead_letters: deadLetters.reduce((sum, n) => sum + n, 0),
        oldest_pending_age_seconds: lag.oldestPendingAgeSeconds,
        consumers: [...consumers.values()].sort((a, b) => a.name.localeCompare(b.name)),
        partitions: lag.partitions
          .map((l, partition) => ({
            partition,
            stream_length: l.streamLength,
            pending: l.pending,
            dead_letters: deadLetters[partition]!,
            oldest_pending_age_seconds: l.oldestPendingAgeSeconds,
          }))
          .filter((p) => p.stream_length + p.pending + p.dead_letters > 0),
      },
    };
  });
}

/** The Redis nodes behind the deployment, as CLUSTER NODES (or, for one server, INFO) tells them. */
async function redisTopology(redis: RedisClient): Promise<RedisTopology> {
  if (!redis.isCluster) {
    // INFO replication lists each replica as `slaveN:ip=…,port=…,state=online,…`.
    const info = await redis.info('replication');
    const replicas = [...info.matchAll(/^slave\d+:ip=([^,]+),port=(\d+),state=(\w+)/gm)].map(([, ip, port, state]) => ({
      address: `${ip}:${port}`,
      connected: state === 'online',
    }));
    const { host, port } = (redis as Redis).options;
    return { mode: 'standalone', masters: [{ address: `${host}:${port}`, slots: 16384, replicas }], failed: [], idle: [], whole: true };
  }
  const [info, table] = (await Promise.all([redis.call('CLUSTER', 'INFO'), redis.call('CLUSTER', 'NODES')])) as [string, string];
  const nodes = parseClusterNodes(table).map((n) => ({ ...n, slots: n.ranges.reduce((sum, [from, to]) => sum + to - from + 1, 0) }));
  const failed = nodes.filter((n) => n.flags.includes('fail')).map((n) => n.address);
  const idle = nodes.filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots === 0).map((n) => n.address);
  const masters = nodes
    .filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots > 0)
    .map((m) => ({
      address: m.address,
      slots: m.slots,
      replicas: nodes
        .filter((r) => r.flags.includes('slave') && r.master === m.id && !r.flags.includes('fail'))
        .map((r) => ({ address: r.address, connected: r.link === 'connected' })),
    }))
    .sort((a, b) => a.address.localeCompare(b.address));
  const whole = info.includes('cluster_state:ok') && failed.length === 0 && idle.length === 0 && masters.every((m) => m.replicas.some((r) => r.connected));
  return { mode: 'cluster', masters, failed, idle, whole };
}
