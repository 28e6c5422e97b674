import { Type } from '@sinclair/typebox';
import { readEnv } from '@parley/config';
import { claimPartitions, closeRedis, connectRedis, createKeys, RedisEnv, redisTargetOf, type Keys, type RedisClient, type RedisTarget } from '@parley/redis';

/**
 * The Redis of a deployment, as its services are told of it: REDIS_URL (or REDIS_CLUSTER_NODES, or
 * REDIS_SENTINELS with REDIS_SENTINEL_MASTER), REDIS_KEY_PREFIX, REDIS_PARTITIONS.
 */
export interface Deployment {
  redis: RedisTarget;
  prefix: string;
  partitions: number;
}

const RedisSettings = Type.Object(RedisEnv);

/** Read and checked as the services read and check them (their defaults included). */
export function deploymentOf(env: NodeJS.ProcessEnv): Deployment {
  const settings = readEnv(RedisSettings, env);
  return { redis: redisTargetOf(settings), prefix: settings.REDIS_KEY_PREFIX, partitions: settings.REDIS_PARTITIONS };
}

/**
 * Connects for one command, failing fast rather than queueing, and checks the partitions against
 * the deployment's; `use` runs with the connection and the keys, which is closed after.
 */
export async function withRedis<T>(deployment: Deployment, use: (redis: RedisClient, keys: Keys) => Promise<T>): Promise<T> {
  const keys = createKeys({ prefix: deployment.prefix, partitions: deployment.partitions });
  const redis = connectRedis(deployment.redis, 'parley-cli', { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  redis.on('error', () => undefined); // the failed command reports it
  try {
    await redis.connect();
    await claimPartitions(redis, keys, { record: false });
    return await use(redis, keys);
  } finally {
    await closeRedis(redis);
  }
}
