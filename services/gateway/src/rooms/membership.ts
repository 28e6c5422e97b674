import { findRoom, memberIdsOfRooms, type Database, type Kysely } from '@parley/db';
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
      () => this.fill([roomId]),
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
      () => this.fill([roomId]),
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

  /**
   * Caches the member sets of those of the rooms not cached (a connection's rooms at hello), so that
   * their first messages find them: a room's first message otherwise waits for the fill.
   */
  async warm(roomIds: number[]): Promise<void> {
    const cached = await Promise.all(roomIds.map((id) => this.redis.exists(this.keys.roomMembers(id))));
    const cold = roomIds.filter((_, i) => cached[i] === 0);
    if (cold.length > 0) await this.fill(cold);
  }

  /**
   * Caches the rooms' member sets from Postgres, one query for them all; each unless its membership
   * changes meanwhile (then the next caller fills it).
   */
  async fill(roomIds: number[]): Promise<void> {
    const generations = await Promise.all(roomIds.map((id) => this.redis.get(this.keys.roomMembersGen(id))));
    const members = await memberIdsOfRooms(this.db, roomIds);
    await Promise.all(roomIds.map((id, i) => this.scripts.roomMembersFill(id, generations[i] ?? '', this.ttlSeconds, members.get(id)!)));
  }
}
