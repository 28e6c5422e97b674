import { connectRedis, createKeys, liveNodes, pairsOf, PERSISTER_GROUP, persisterLag } from '@parley/redis';

export interface ClusterStatus {
  gateways: Array<{ node: string; last_heartbeat_ms_ago: number; sockets: number; users: number }>;
  persister: {
    stream_length: number;
    pending: number;
    /** Entries Postgres refused, set aside in the dead-letter stream (`parley dead-letters`). */
    dead_letters: number;
    oldest_pending_age_seconds: number;
    consumers: Array<{ name: string; pending: number; idle_ms: number }>;
  };
}

/**
 * What the cluster looks like from Redis: the gateways alive by their presence heartbeats (with
 * their sockets and users), and the persisters' lag (the event stream, the group's pending list,
 * each consumer). Read-only.
 */
export async function clusterStatus(redisUrl: string, prefix: string, presenceTtlMs: number): Promise<ClusterStatus> {
  const redis = connectRedis(redisUrl, 'parley-cli', { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  redis.on('error', () => undefined); // the failed command reports it
  try {
    await redis.connect();
    const keys = createKeys(prefix);
    const stream = keys.eventStream();
    const nodes = await liveNodes(redis, keys, presenceTtlMs);
    const now = Date.now();
    const gateways = await Promise.all(
      nodes.map(async (node) => {
        const [beat, sockets, users] = await Promise.all([redis.zscore(keys.presenceNodes(), node), redis.hget(keys.nodeSockets(), node), redis.hlen(keys.presenceNode(node))]);
        return { node, last_heartbeat_ms_ago: now - Number(beat), sockets: Number(sockets ?? 0), users };
      }),
    );
    const [lag, deadLetters] = await Promise.all([persisterLag(redis, keys, now), redis.xlen(keys.deadLetters())]);
    // No stream or no group yet: no consumers either.
    const consumers = (await redis.xinfo('CONSUMERS', stream, PERSISTER_GROUP).catch(() => [])) as unknown[][];
    return {
      gateways: gateways.sort((a, b) => a.node.localeCompare(b.node)),
      persister: {
        stream_length: lag.streamLength,
        pending: lag.pending,
        dead_letters: deadLetters,
        oldest_pending_age_seconds: lag.oldestPendingAgeSeconds,
        consumers: consumers.map((fields) => {
          // XINFO answers each consumer as a flat list of field, value, field, value…
          const info = pairsOf(fields);
          return { name: String(info.name), pending: Number(info.pending), idle_ms: Number(info.idle) };
        }),
      },
    };
  } finally {
    redis.disconnect();
  }
}
