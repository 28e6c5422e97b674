import { Redis, type RedisOptions } from 'ioredis';

/**
 * Reconnects after 50 ms, doubling to at most 2 s, with up to 200 ms of jitter so that the
 * gateways of a cluster do not all knock at once. ioredis 6's own default waits up to 5.2 s, which
 * would hold every send of a gateway that long after a Redis restart.
 */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** (times - 1), 2000) + Math.floor(Math.random() * 200);
}

/**
 * A connection to Redis, as every Parley process opens one: the RESP3 handshake with v5's reply
 * shapes (ioredis 6's defaults), the reconnect delay above, and a name that says who holds it in
 * `CLIENT LIST`. `options` adds what the role needs (timeouts, offline queue, retries per request).
 */
export function connectRedis(url: string, connectionName: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { retryStrategy: reconnectDelay, connectionName, ...options });
}
