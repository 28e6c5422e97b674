import { findRoom, memberIdsOfRooms, type Database, type Kysely } from '@parley/db';
import type { Keys, Scripts, RedisClient } from '@parley/redis';
import { readThrough } from './read-through.js';

/** Room types remembered per gateway (a room's type never changes). */
const ROOM_TYPES_MAX = 10_000;

/** How long a gateway takes a room's member set, once seen cached, to stay so without asking again (at most its TTL). */
const WARM_MEMO_MS = 60_000;
/** Rooms whose member sets a gateway remembers as cached. */
const WARM_MEMO_MAX = 10_000;

/**
 * Room membership as every frame checks it: a Redis set cached from Postgres. A change commits to
 * Postgres first, then appends its system message, which bumps the generation and drops the set in
 * the same script step (appendMembershipEvent); a fill reads the generation before Postgres and is
 * discarded if it moved, so a stale member list never gets cached.
 */
export class Membership {
  private readonly roomTypes = new Map<number, 'direct' | 'group'>();
  /** Rooms whose member sets were cached when last looked at, until when that is taken to hold. */
  private readonly warmUntil = new Map<number, number>();

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
   * their first messages find them: a room's first message otherwise waits for the fill. A set seen
   * cached is not asked about again on this gateway for a minute (or its remaining TTL): a hint
   * only, for a set dropped meanwhile (a membership change) is filled by the next check of it, as
   * without warming.
   */
  async warm(roomIds: number[], now = Date.now()): Promise<void> {
    const unknown = roomIds.filter((id) => (this.warmUntil.get(id) ?? 0) <= now);
    const ttls = await Promise.all(unknown.map((id) => this.redis.pttl(this.keys.roomMembers(id))));
    const cold: number[] = [];
    unknown.forEach((id, i) => {
      const ttl = ttls[i]!; // ms; -2: no such key, -1: no TTL
      if (ttl === -2) cold.push(id);
      else this.remember(id, now + (ttl > 0 ? Math.min(ttl, WARM_MEMO_MS) : WARM_MEMO_MS));
    });
    if (cold.length === 0) return;
    await this.fill(cold);
    for (const id of cold) this.remember(id, now + Math.min(this.ttlSeconds * 1000, WARM_MEMO_MS));
  }

  private remember(roomId: number, until: number): void {
    this.warmUntil.delete(roomId);
    if (this.warmUntil.size >= WARM_MEMO_MAX) this.warmUntil.delete(this.warmUntil.keys().next().value!);
    this.warmUntil.set(roomId, until);
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
