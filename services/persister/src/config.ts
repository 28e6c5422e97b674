import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { readEnv, ServiceEnv, SharedEnv } from '@parley/config';
import { RedisEnv, redisTargetOf, type RedisTarget } from '@parley/redis';
import type { WebhookConfig } from './offline-webhook.js';
import type { SearchIndexerConfig } from './search-indexer.js';

/** Every setting of the persister, read from the environment once, here and nowhere else. */
export const PersisterEnv = Type.Object({
  ...SharedEnv,
  ...ServiceEnv,
  ...RedisEnv,
  /** Name of this consumer in the group; unique per process unless given. */
  PERSISTER_CONSUMER: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Most stream entries written to Postgres in one transaction. */
  PERSISTER_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  /** After a short batch, how long entries may gather before the next read (throughput over Postgres latency). */
  PERSISTER_LINGER_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 250 }),
  /** How long one XREADGROUP waits for new entries. */
  PERSISTER_BLOCK_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 1000 }),
  /** Entries pending longer than this with another consumer (a dead one) are claimed. */
  PERSISTER_CLAIM_IDLE_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  /** How often to look for such entries. */
  PERSISTER_CLAIM_INTERVAL_MS: Type.Integer({ minimum: 100, default: 5000 }),
  /** How often the rooms' persisted watermarks advance (and their Redis logs are trimmed). */
  PERSISTER_WATERMARK_INTERVAL_MS: Type.Integer({ minimum: 10, default: 1000 }),
  /** Whether this persister writes the search index (blocks of each room's messages, behind its watermark). Off, search reads every message. */
  PERSISTER_SEARCH_INDEX: Type.Boolean({ default: true }),
  /** Seqs of a room per search block: the index's unit, written once this many wait. */
  PERSISTER_SEARCH_BLOCK: Type.Integer({ minimum: 1, maximum: 1024, default: 64 }),
  /** Longest persisted messages of a quiet room wait for the index (search finds them meanwhile, more slowly). */
  PERSISTER_SEARCH_LAG_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 5000 }),
  /** Where offline notifications are posted (the customer's push service); unset: none are sent. */
  WEBHOOK_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Shared secret of the webhook's HMAC-SHA256 signature (x-parley-signature); required with WEBHOOK_URL. */
  WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  /** How long notifications gather before a post, unless WEBHOOK_BATCH_MAX are waiting. */
  WEBHOOK_BATCH_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
  WEBHOOK_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  /** Retries of a failed post, with exponential backoff from 200 ms (capped at 10 s). */
  WEBHOOK_RETRIES: Type.Integer({ minimum: 0, maximum: 20, default: 5 }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  /** Most notifications waiting; past it the oldest are dropped. */
  WEBHOOK_QUEUE_MAX: Type.Integer({ minimum: 1, default: 10_000 }),
  /** Where GET /metrics (Prometheus) is served; unset: not served. 0 picks a free port (logged). */
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  METRICS_HOST: Type.String({ default: '127.0.0.1' }),
  /** Newest events per room kept in its Redis log after they are persisted, for resume. */
  ROOM_LOG_WINDOW: Type.Integer({ minimum: 0, default: 1000 }),
});

export interface PersisterConfig {
  logLevel: string;
  /** On SIGTERM, the most the stop may take before the process exits anyway (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  redis: RedisTarget;
  redisKeyPrefix: string;
  redisPartitions: number;
  databaseUrl: string;
  consumer: string;
  batchSize: number;
  lingerMs: number;
  blockMs: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  watermarkIntervalMs: number;
  roomLogWindow: number;
  /** Replicas an entry must be on before it is written to Postgres (REDIS_WAIT_REPLICAS): every online one, at least this many. */
  redisWait: { replicas: number; timeoutMs: number };
  search: SearchIndexerConfig | undefined;
  metrics: { host: string; port: number } | undefined;
  webhook: WebhookConfig | undefined;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): PersisterConfig {
  const env = readEnv(PersisterEnv, source);
  if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) throw new Error('WEBHOOK_SECRET is required with WEBHOOK_URL (at least 16 characters)');
  const webhook = env.WEBHOOK_URL
    ? Object.freeze({
        url: env.WEBHOOK_URL,
        secret: env.WEBHOOK_SECRET!,
        batchMs: env.WEBHOOK_BATCH_MS,
        batchMax: env.WEBHOOK_BATCH_MAX,
        retries: env.WEBHOOK_RETRIES,
        timeoutMs: env.WEBHOOK_TIMEOUT_MS,
        queueMax: env.WEBHOOK_QUEUE_MAX,
        presenceTtlMs: env.PRESENCE_TTL_SECONDS * 1000,
      })
    : undefined;
  return Object.freeze({
    webhook,
    logLevel: env.LOG_LEVEL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    redis: redisTargetOf(env),
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    redisPartitions: env.REDIS_PARTITIONS,
    databaseUrl: env.DATABASE_URL,
    consumer: env.PERSISTER_CONSUMER ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    batchSize: env.PERSISTER_BATCH_SIZE,
    lingerMs: env.PERSISTER_LINGER_MS,
    redisWait: Object.freeze({ replicas: env.REDIS_WAIT_REPLICAS, timeoutMs: env.REDIS_WAIT_TIMEOUT_MS }),
    blockMs: env.PERSISTER_BLOCK_MS,
    claimIdleMs: env.PERSISTER_CLAIM_IDLE_MS,
    claimIntervalMs: env.PERSISTER_CLAIM_INTERVAL_MS,
    watermarkIntervalMs: env.PERSISTER_WATERMARK_INTERVAL_MS,
    roomLogWindow: env.ROOM_LOG_WINDOW,
    search: env.PERSISTER_SEARCH_INDEX ? Object.freeze({ blockSeqs: env.PERSISTER_SEARCH_BLOCK, lagMs: env.PERSISTER_SEARCH_LAG_MS }) : undefined,
    metrics: env.METRICS_PORT === undefined ? undefined : Object.freeze({ host: env.METRICS_HOST, port: env.METRICS_PORT }),
  });
}
