import { Type, type Static, type TObject } from '@sinclair/typebox';
import { envSchema } from 'env-schema';

/**
 * The settings the gateway, the persister and the `parley` command share, declared once; each
 * service's schema spreads them beside its own (and `RedisEnv` from @parley/redis).
 */
export const SharedEnv = {
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  /**
   * A gateway that stops heartbeating is dead after this long: its users go offline (heartbeat every
   * third of it). The persister's webhook and `parley status` take the same figure.
   */
  PRESENCE_TTL_SECONDS: Type.Integer({ minimum: 3, maximum: 30, default: 30 }),
};

/** What the two long-running services, the gateway and the persister, share beside SharedEnv. */
export const ServiceEnv = {
  /**
   * On SIGTERM, the most a service's stop may take (a gateway's drain; a persister's batch in hand,
   * its acks and watermarks; Redis and Postgres closed) before the process exits anyway, with status
   * 1. A persister's unacked entries stay pending and are claimed by another.
   */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
};

/**
 * Reads and validates `schema` from the environment (defaults applied); throws an Error naming each
 * bad variable. An empty variable (`JWT_SECRET=` in a compose file, say) counts as unset.
 */
export function readEnv<S extends TObject>(schema: S, source: NodeJS.ProcessEnv): Static<S> {
  const set = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  return envSchema<Static<S>>({ schema, data: set, env: false });
}
