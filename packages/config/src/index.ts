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

/**
 * Reads and validates `schema` from the environment (defaults applied); throws an Error naming each
 * bad variable. An empty variable (`JWT_SECRET=` in a compose file, say) counts as unset.
 */
export function readEnv<S extends TObject>(schema: S, source: NodeJS.ProcessEnv): Static<S> {
  const set = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  return envSchema<Static<S>>({ schema, data: set, env: false });
}
