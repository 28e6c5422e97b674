import { liveNodes, pairsOf, partitionNumbers, PERSISTER_GROUP, persisterLag } from '@parley/redis';
import { withRedis, type Deployment } from './deployment.js';

export interface ClusterStatus {
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
