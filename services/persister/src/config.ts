import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { envSchema } from 'env-schema';

/** Every setting of the persister, read from the environment once, here and nowhere else. */
const Env = Type.Object({
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[^{}]*$', default: '' }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  /** Name of this consumer in the group; unique per process unless given. */
  PERSISTER_CONSUMER: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  /** Most stream entries written to Postgres in one transaction. */
  PERSISTER_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  /** After a short batch, how long entries may gather before the next read (throughput over Postgres latency). */
  PERSISTER_LINGER_MS: Type.Integer({ minimum: 0, maximum: 10_000, default: 100 }),
  /** How long one XREADGROUP waits for new entries. */
  PERSISTER_BLOCK_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 1000 }),
  /** Entries pending longer than this with another consumer (a dead one) are claimed. */
  PERSISTER_CLAIM_IDLE_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  /** How often to look for such entries. */
  PERSISTER_CLAIM_INTERVAL_MS: Type.Integer({ minimum: 100, default: 5000 }),
  /** How often the rooms' persisted watermarks advance (and their Redis logs are trimmed). */
  PERSISTER_WATERMARK_INTERVAL_MS: Type.Integer({ minimum: 10, default: 1000 }),
  /** Newest events per room kept in its Redis log after they are persisted, for resume. */
  ROOM_LOG_WINDOW: Type.Integer({ minimum: 0, default: 1000 }),
});
type Env = Static<typeof Env>;

export interface PersisterConfig {
  logLevel: string;
  redisUrl: string;
  redisKeyPrefix: string;
  databaseUrl: string;
  consumer: string;
  batchSize: number;
  lingerMs: number;
  blockMs: number;
  claimIdleMs: number;
  claimIntervalMs: number;
  watermarkIntervalMs: number;
  roomLogWindow: number;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): PersisterConfig {
  // An empty variable (`JWT_SECRET=` in a compose file, say) counts as unset.
  const set = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const env = envSchema<Env>({ schema: Env, data: set, env: false });
  return Object.freeze({
    logLevel: env.LOG_LEVEL,
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    databaseUrl: env.DATABASE_URL,
    consumer: env.PERSISTER_CONSUMER ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    batchSize: env.PERSISTER_BATCH_SIZE,
    lingerMs: env.PERSISTER_LINGER_MS,
    blockMs: env.PERSISTER_BLOCK_MS,
    claimIdleMs: env.PERSISTER_CLAIM_IDLE_MS,
    claimIntervalMs: env.PERSISTER_CLAIM_INTERVAL_MS,
    watermarkIntervalMs: env.PERSISTER_WATERMARK_INTERVAL_MS,
    roomLogWindow: env.ROOM_LOG_WINDOW,
  });
}
