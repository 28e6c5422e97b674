import { Redis } from 'ioredis';
import { createKeys, liveNodes, PERSISTER_GROUP } from '@parley/redis';

export interface ClusterStatus {
  gateways: Array<{ node: string; last_heartbeat_ms_ago: number; sockets: number; users: number }>;
  persister: {
    stream_length: number;
    pending: number;
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
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true, connectionName: 'parley-cli' });
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
    const length = await redis.xlen(stream);
    const consumers = length === 0 && !(await redis.exists(stream)) ? [] : ((await redis.xinfo('CONSUMERS', stream, PERSISTER_GROUP).catch(() => [])) as unknown[][]);
    const summary: [number, string | null] = consumers.length > 0 ? ((await redis.xpending(stream, PERSISTER_GROUP)) as [number, string | null]) : [0, null];
    return {
      gateways: gateways.sort((a, b) => a.node.localeCompare(b.node)),
      persister: {
        stream_length: length,
        pending: Number(summary[0]),
        oldest_pending_age_seconds: summary[1] ? Math.max(0, now - Number(summary[1].split('-')[0])) / 1000 : 0,
        consumers: consumers.map((fields) => {
          const info = Object.fromEntries(fields.reduce<Array<[string, unknown]>>((pairs, v, i) => (i % 2 ? pairs : [...pairs, [String(v), fields[i + 1]]]), []));
          return { name: String(info.name), pending: Number(info.pending), idle_ms: Number(info.idle) };
        }),
      },
    };
  } finally {
    redis.disconnect();
  }
}
