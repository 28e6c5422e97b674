import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns a truthy value, for conditions that raise no event (rows landing
 * in Postgres, a stream draining). Rejects with the last value seen once timeoutMs has passed.
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
    await delay(50);
  }
}
