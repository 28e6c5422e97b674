import { findRoom, roomMemberIds, type Database, type Kysely } from '@parley/db';
import type { Keys, Scripts, RedisClient } from '@parley/redis';
import { readThrough } from './read-through.js';

/** Room types remembered per gateway (a room's type never changes). */
const ROOM_TYPES_MAX = 10_000;

/**
 * Room membership as every frame checks it: a Redis set cached from Postgres. A change commits to
 * Postgres first, then appends its system message, which bumps the generation and drops the set in
 * the same script step (appendMembershipEvent); a fill reads the generation before Postgres and is
 * discarded if it moved, so a stale member list never gets cached.
 */
export class Membership {
  private readonly roomTypes = new Map<number, 'direct' | 'group'>();

  constructor(
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly scripts: Scripts,
    private readonly ttlSeconds: number,
  ) {}

  async isMember(roomId: number, userId: string): Promise<boolean> {
    return readThrough(
      "the room's membership",
      async () => {
        // The sentinel "" is in the set whenever the set is cached.
        const [cached, member] = (await this.redis.smismember(this.keys.roomMembers(roomId), '', userId)) as [number, number];
        return cached ? member === 1 : undefined;
      },
      () => this.fill(roomId),
    );
  }

  /** The room's members, from the cache (filled when cold). */
  async members(roomId: number): Promise<string[]> {
    return readThrough(
      "the room's membership",
      async () => {
        const ids = await this.redis.smembers(this.keys.roomMembers(roomId));
        return ids.includes('') ? ids.filter((id) => id !== '') : undefined;
      },
      () => this.fill(roomId),
    );
  }

  /** Whether the room is a direct one, remembered after the first read; undefined for no such room. */
  async roomType(roomId: number): Promise<'direct' | 'group' | undefined> {
    const known = this.roomTypes.get(roomId);
    if (known) return known;
    const room = await findRoom(this.db, roomId);
    if (!room) return undefined;
    if (this.roomTypes.size >= ROOM_TYPES_MAX) this.roomTypes.delete(this.roomTypes.keys().next().value!);
    this.roomTypes.set(roomId, room.type);
    return room.type;
  }

  /** Caches the member set from Postgres unless membership changes meanwhile (then the next caller fills). */
  async fill(roomId: number): Promise<void> {
    const generation = (await this.redis.get(this.keys.roomMembersGen(roomId))) ?? '';
    const members = await roomMemberIds(this.db, roomId);
    await this.scripts.roomMembersFill(roomId, generation, this.ttlSeconds, members);
  }
}
