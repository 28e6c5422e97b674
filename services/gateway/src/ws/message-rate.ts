/**
 * Messages per user on this gateway: a token bucket per user, refilled at `perSecond` up to
 * `burst`. In memory: a user's sockets on one gateway share a bucket (and a user holds at most
 * WS_MAX_SOCKETS_PER_USER there); the REST limit, in Redis, covers sends over REST.
 */
export class MessageRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one message's token: 0 if it may go now, else how many ms until one is free. */
  take(user: string, now = Date.now()): number {
    const bucket = this.buckets.get(user) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perSecond) / 1000);
    bucket.at = now;
    this.buckets.set(user, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / this.perSecond);
  }

  /** The user has no socket here any more. */
  forget(user: string): void {
    this.buckets.delete(user);
  }
}
