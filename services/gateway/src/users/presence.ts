import type { FastifyBaseLogger } from 'fastify';
import { roomIdsOfUser, type Database, type Kysely } from '@parley/db';
import { encodeRoomSignal, type UserPresence } from '@parley/protocol';
import { liveNodes, readPresence, type Keys, type RedisClient, type Scripts } from '@parley/redis';

type LocalState = 'online' | 'away';

/** A user's sockets here, counted by state (no record per socket). */
interface LocalCounts {
  online: number;
  away: number;
}

/** Calls of presence-leave before giving up, each with the live gateways the last one found. */
const MAX_LEAVE_ATTEMPTS = 5;

/** How long a gateway gathers presence changes before telling each room of them in one frame. */
const ANNOUNCE_BATCH_MS = 250;

/**
 * Presence per user over all their sockets on all gateways. Each gateway owns a hash of the users
 * it holds sockets of (`online` or `away`) and rewrites it on a heartbeat every third of the TTL,
 * stamping itself in a sorted set of nodes; a node silent for the TTL is dead, and readers ignore
 * it. A user is online if any live node has them online, away if only away, offline otherwise,
 * with the time they were last seen. Changes are pushed to the user's rooms as `presence` signals,
 * gathered for ANNOUNCE_BATCH_MS so that a room hears of many members coming and going (a deploy,
 * a reconnect storm, the start of a working day) in one frame, each member once with their newest
 * state; the first gateway to notice a dead node pushes `offline` for its users not online elsewhere.
 */
export class Presence {
  /** Users with sockets here, in hello or later. */
  private readonly local = new Map<string, LocalCounts>();
  private timer: NodeJS.Timeout | undefined;
  /** Changes not yet told: room → user → newest presence. */
  private pending = new Map<number, Map<string, UserPresence>>();
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The other live gateways, as of the last heartbeat (or the last leave that found one more). */
  private others: string[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly scripts: Scripts,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly nodeId: string,
    private readonly ttlMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start(): Promise<void> {
    await this.heartbeat();
    this.timer = setInterval(
      () => {
        this.heartbeat().catch((err: Error) => this.log.warn({ err: err.message }, 'presence heartbeat failed'));
      },
      Math.floor(this.ttlMs / 3),
    );
    this.timer.unref();
  }

  /** Tells what is pending, then leaves the node set; the sockets' own closes have announced their users. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    await this.flush();
    await this.redis
      .multi()
      .zrem(this.keys.presenceNodes(), this.nodeId)
      .del(this.keys.presenceNode(this.nodeId))
      .hdel(this.keys.nodeSockets(), this.nodeId)
      .exec();
  }

  /**
   * A socket of the user went from state `from` (undefined: it was not counted yet) to `to`
   * (undefined: it closed). `roomIds`: the rooms the socket receives, the user's rooms, where a
   * change of the user's presence is told.
   */
  async update(userId: string, from: LocalState | undefined, to: LocalState | undefined, roomIds: number[]): Promise<void> {
    const counts = this.local.get(userId) ?? { online: 0, away: 0 };
    const before = aggregate(counts);
    if (from) counts[from]--;
    if (to) counts[to]++;
    if (counts.online + counts.away > 0) this.local.set(userId, counts);
    else this.local.delete(userId);
    const after = aggregate(counts);
    if (before === after) return;
    // Online here is online: only away or gone here needs the other gateways' word.
    if (after === 'online') await this.redis.hset(this.keys.presenceNode(this.nodeId), userId, after);
    const now: UserPresence = after === 'online' ? { user_id: userId, state: after, last_seen: null } : await this.leave(userId, after ?? 'gone');
    await this.announce(now, roomIds);
  }

  /**
   * Records the user away here, or gone from here, and reads their presence over the live gateways,
   * in one script call; again with the live gateways' list when one had started unknown to this one.
   */
  private async leave(userId: string, state: 'away' | 'gone'): Promise<UserPresence> {
    for (let attempt = 1; ; attempt++) {
      const left = await this.scripts.presenceLeave(this.nodeId, userId, state, Date.now() - this.ttlMs, this.others);
      if (left.status === 'OK') return left.presence;
      this.others = left.live.filter((node) => node !== this.nodeId);
      if (attempt === MAX_LEAVE_ATTEMPTS) throw new Error(`presence of ${userId} not recorded: gateways kept starting meanwhile`);
    }
  }

  /** Each user's presence, aggregated over the live nodes. */
  lookup(userIds: string[]): Promise<UserPresence[]> {
    return readPresence(this.redis, this.keys, this.ttlMs, userIds);
  }

  /** Every user online or away on a live node. */
  async onlineUsers(): Promise<string[]> {
    const live = await liveNodes(this.redis, this.keys, this.ttlMs);
    const lists = await Promise.all(live.map((node) => this.redis.hkeys(this.keys.presenceNode(node))));
    return [...new Set(lists.flat())];
  }

  /**
   * Tells each of these rooms of the user (a signal on the room's channel: only its members' sockets
   * get it), with the other changes of the next ANNOUNCE_BATCH_MS (at once when stopping).
   */
  private async announce(presence: UserPresence, roomIds: number[]): Promise<void> {
    for (const roomId of roomIds) {
      let users = this.pending.get(roomId);
      if (!users) this.pending.set(roomId, (users = new Map<string, UserPresence>()));
      users.set(presence.user_id, presence);
    }
    if (this.stopped) await this.flush();
    else if (roomIds.length > 0) this.flushTimer ??= setTimeout(() => void this.flush(), ANNOUNCE_BATCH_MS);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const rooms = this.pending;
    this.pending = new Map();
    // One command per room, not a pipeline: the rooms' channels lie in several slots of a cluster.
    const told = await Promise.allSettled(
      [...rooms].map(([chat_id, users]) =>
        this.redis.spublish(this.keys.roomChannel(chat_id), encodeRoomSignal({ type: 'presence', chat_id, users: [...users.values()] })),
      ),
    );
    const refused = told.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused.length > 0) this.log.warn({ rooms: refused.length, err: (refused[0]!.reason as Error).message }, 'presence announcement failed');
  }

  /** Rewrites this node's users, stamps the node alive, and reaps nodes that stopped stamping. */
  private async heartbeat(): Promise<void> {
    const now = Date.now();
    const node = this.keys.presenceNode(this.nodeId);
    const entries = [...this.local].map(([user, counts]) => [user, aggregate(counts)!] as const);
    const tx = this.redis.multi().del(node);
    if (entries.length > 0) {
      tx.hset(node, ...entries.flat());
      tx.hset(this.keys.presenceLastSeen(), ...entries.flatMap(([user]) => [user, now]));
    }
    // The hash outlives the TTL so that whoever reaps this node can still read whom it held.
    const sockets = [...this.local.values()].reduce((n, c) => n + c.online + c.away, 0);
    await tx
      .pexpire(node, this.ttlMs * 2)
      .zadd(this.keys.presenceNodes(), now, this.nodeId)
      .hset(this.keys.nodeSockets(), this.nodeId, sockets)
      .exec();
    // One read of the node set: the live ones for presence-leave's keys, the dead ones to reap.
    const stamped = await this.redis.zrangebyscore(this.keys.presenceNodes(), '-inf', '+inf', 'WITHSCORES');
    const cutoff = now - this.ttlMs;
    const others: string[] = [];
    const dead: Array<[node: string, lastBeat: number]> = [];
    for (let i = 0; i < stamped.length; i += 2) {
      const [node, beat] = [stamped[i]!, Number(stamped[i + 1])];
      if (beat >= cutoff && node !== this.nodeId) others.push(node);
      if (beat <= cutoff) dead.push([node, beat]);
    }
    this.others = others;
    await this.reap(dead);
  }

  private async reap(dead: Array<[node: string, lastBeat: number]>): Promise<void> {
    for (const [node, lastBeat] of dead) {
      // One gateway wins each dead node.
      if (node === this.nodeId || (await this.redis.zrem(this.keys.presenceNodes(), node)) !== 1) continue;
      const users = await this.redis.hkeys(this.keys.presenceNode(node));
      await this.redis.multi().del(this.keys.presenceNode(node)).hdel(this.keys.nodeSockets(), node).exec();
      // Its users were there at its last heartbeat at least (one who came after it has no newer stamp).
      if (users.length > 0) {
        const seen = await this.redis.hmget(this.keys.presenceLastSeen(), ...users);
        const stale = users.filter((_, j) => Number(seen[j] ?? 0) < lastBeat);
        if (stale.length > 0) await this.redis.hset(this.keys.presenceLastSeen(), ...stale.flatMap((u) => [u, lastBeat]));
      }
      this.log.info({ node, users: users.length }, 'reaped the presence of a dead gateway');
      for (const presence of await this.lookup(users))
        if (presence.state === 'offline') await this.announce(presence, await roomIdsOfUser(this.db, presence.user_id));
    }
  }
}

function aggregate({ online, away }: LocalCounts): LocalState | undefined {
  return online > 0 ? 'online' : away > 0 ? 'away' : undefined;
}
