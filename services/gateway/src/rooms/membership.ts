import type { Redis } from 'ioredis';
import { roomMemberIds, type Database, type Kysely } from '@parley/db';
import type { Keys, Scripts } from '@parley/redis';

/** Tries before a fill that keeps losing to concurrent membership changes gives up. */
const FILL_ATTEMPTS = 5;

/**
 * Room membership as every frame checks it: a Redis set cached from Postgres. A change commits to
 * Postgres first, then appends its system message, which bumps the generation and drops the set in
 * the same script step (appendMembershipEvent); a fill reads the generation before Postgres and is
 * discarded if it moved, so a stale member list never gets cached.
 */
export class Membership {
  constructor(
    private readonly redis: Redis,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly scripts: Scripts,
    private readonly ttlSeconds: number,
  ) {}

  async isMember(roomId: number, userId: string): Promise<boolean> {
    for (let attempt = 0; attempt < FILL_ATTEMPTS; attempt++) {
      // The sentinel "" is in the set whenever the set is cached.
      const [cached, member] = (await this.redis.smismember(this.keys.roomMembers(roomId), '', userId)) as [number, number];
      if (cached) return member === 1;
      await this.fill(roomId);
    }
    throw new Error(`membership of room ${roomId} kept changing while being cached`);
  }

  /** Caches the member set from Postgres unless membership changes meanwhile (then the next caller fills). */
  async fill(roomId: number): Promise<void> {
    const generation = (await this.redis.get(this.keys.roomMembersGen(roomId))) ?? '';
    const members = await roomMemberIds(this.db, roomId);
    await this.scripts.roomMembersFill(roomId, generation, this.ttlSeconds, members);
  }
}
