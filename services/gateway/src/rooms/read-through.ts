import { ParleyError } from '@parley/protocol';

/**
 * Tries of a read through a Redis cache: a cold cache costs one, a change (membership, say) racing
 * the fill one more; past this the cache keeps missing and the caller is told to come back.
 */
const ATTEMPTS = 5;
/** How long a caller refused for a cache that kept missing should wait: long enough for the change it raced to end. */
export const CACHE_RETRY_AFTER_MS = 250;

/**
 * The one read-through rule of the gateway's Redis caches (member sets, read positions, a
 * script's cold caches): `read` answers the value, or `undefined` on a miss; `fill` fills the cache
 * from Postgres and the read runs again. A cache that keeps missing is refused with
 * SERVICE_UNAVAILABLE and `retry_after_ms`, as any backend that cannot answer now: never a 500.
 */
export async function readThrough<T>(what: string, read: () => Promise<T | undefined>, fill: () => Promise<unknown>): Promise<T> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const value = await read();
    if (value !== undefined) return value;
    await fill();
  }
  throw new ParleyError('SERVICE_UNAVAILABLE', `${what} kept changing while it was cached; retry`, CACHE_RETRY_AFTER_MS);
}
