import { Type } from '@sinclair/typebox';
import { DEFAULT_PARTITIONS } from './keys.js';

/** The Redis settings every service reads, in its environment schema (see redisTargetOf). */
export const RedisEnv = {
  /** One Redis server: the default mode. */
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  /** Redis Cluster mode: some of its nodes, `host:port,host:port`; the client learns the rest. */
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  /** Sentinel mode: the Sentinels, `host:port,host:port`, with REDIS_SENTINEL_MASTER. */
  REDIS_SENTINELS: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  /** The name the Sentinels know the master by. */
  REDIS_SENTINEL_MASTER: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[^{}]*$', default: '' }),
  /** Partitions the rooms are spread over (each a hash tag, an event stream): the same in every process; changing it is a migration. */
  REDIS_PARTITIONS: Type.Integer({ minimum: 1, maximum: 16384, default: DEFAULT_PARTITIONS }),
  /**
   * Replicas an event must reach before it is acked (WAIT after the append), and before a
   * persister writes it to Postgres (WAIT after reading it: an event on a master cut off from its
   * replicas, never acked, is not persisted): every replica the master has online, and at least
   * this many (any of them may be the one promoted). 0 acks once the master has it, and a failover
   * may lose what its replica had not yet received. Fewer in REDIS_WAIT_TIMEOUT_MS: the send gets
   * SERVICE_UNAVAILABLE, and the resend with the same client_id is DUPLICATE if the event survived;
   * the persister reads again later.
   */
  REDIS_WAIT_REPLICAS: Type.Integer({ minimum: 0, maximum: 16, default: 0 }),
  REDIS_WAIT_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
};
