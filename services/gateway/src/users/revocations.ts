import type { Keys, RedisClient } from '@parley/redis';
import type { ChannelSubscriber } from '../relay/channel-subscriber.js';

/**
 * Token revocation, in one place: a revoked jti is kept (until its token would have expired) in
 * the revoked set, which every handshake and REST call checks, and announced on the revocations
 * channel, on which every gateway closes the sockets opened with it (4103 TOKEN_REVOKED).
 */

/** How long a revocation is kept when the caller does not say when the token expires. */
const REVOKED_DEFAULT_MS = 7 * 24 * 3600 * 1000;

/** Revokes `jti` until `expiresAt` (ms; a week from now if not given), dropping revocations past their time. */
export async function revokeToken(redis: RedisClient, keys: Keys, jti: string, expiresAt?: number): Promise<void> {
  const now = Date.now();
  await redis
    .multi()
    .zremrangebyscore(keys.revokedTokens(), '-inf', now)
    .zadd(keys.revokedTokens(), expiresAt ?? now + REVOKED_DEFAULT_MS, jti)
    .publish(keys.revocations(), jti)
    .exec();
}

export async function isRevoked(redis: RedisClient, keys: Keys, jti: string): Promise<boolean> {
  return (await redis.zscore(keys.revokedTokens(), jti)) !== null;
}

/** Calls `revoked` with each jti revoked from now on, on any gateway. */
export function onRevoked(channels: ChannelSubscriber, keys: Keys, revoked: (jti: string) => void): Promise<void> {
  return channels.subscribe(keys.revocations(), revoked, 'broadcast');
}
