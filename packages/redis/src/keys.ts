/**
 * Every Redis key and channel name Parley uses, built in one place. A room's keys share the
 * `{room:ID}` hash tag so that they live in one Redis Cluster slot and one script may touch them all.
 * `prefix` lets several deployments (or test files) share one Redis; it must not contain `{`.
 */
export function createKeys(prefix = '') {
  if (prefix.includes('{')) throw new Error('REDIS_KEY_PREFIX must not contain "{"');
  const room = (id: number) => `${prefix}{room:${id}}`;
  return {
    /** Hash: `seq` = head seq (room-append), `persisted` = highest seq below which Postgres has every message (room-persisted). */
    roomMeta: (id: number) => `${room(id)}:meta`,
    /** Stream, entry id `<seq>-0`: every event not yet persisted plus the last ROOM_LOG_WINDOW events, for resume and history (room-append adds, room-persisted trims). */
    roomLog: (id: number) => `${room(id)}:log`,
    /** String `id|seq|created_at` with a TTL: the idempotency record of one client_id of one sender (room-append). */
    roomIdempotency: (id: number, senderId: string, clientId: string) =>
      `${room(id)}:idem:${senderId.length}:${senderId}:${clientId}`,
    /** Hash: field = seq of an edited or deleted message, value `<event seq>|<state JSON>`; overlaid on history until Postgres has it (room-append sets, room-persisted trims). */
    roomChanges: (id: number) => `${room(id)}:changes`,
    /** Set: seqs of the room's events the persisters dead-lettered, until the persisted watermark passes them (persister adds and removes). */
    roomDeadSeqs: (id: number) => `${room(id)}:dead-seqs`,
    /** Set: cache of the room's member ids plus the sentinel "" (room-members-fill; dropped by room-append in `bump` mode). */
    roomMembers: (id: number) => `${room(id)}:members`,
    /** Counter: bumped on every membership change so that a fill racing a change is discarded (room-append in `bump` mode). */
    roomMembersGen: (id: number) => `${room(id)}:members-gen`,
    /** Pub/sub channel: every event of the room, encoded once as its wire frame (room-append publishes). */
    roomChannel: (id: number) => `${room(id)}:events`,
    /** Hash: field = room id → the seq up to which the user has read it, "d" + room id → up to which the user's client received it; the sentinel "" once filled from Postgres (position-mark and room-append set, user-positions-fill fills). */
    userPositions: (userId: string) => `${prefix}{user:${userId}}:positions`,
    /** Pub/sub channel: control messages for one user's sockets on every gateway (membership changes, read state). */
    userChannel: (userId: string) => `${prefix}{user:${userId}}:control`,
    /** Sorted set: gateway node id → time of its last presence heartbeat (ms); a node silent for the presence TTL is dead. */
    presenceNodes: () => `${prefix}parley:presence:nodes`,
    /** Hash: user id → `online` or `away`, for the users with a socket on this node; rewritten by each heartbeat. */
    presenceNode: (nodeId: string) => `${prefix}parley:presence:node:${nodeId}`,
    /** Hash: gateway node id → its open sockets (after hello), written by each heartbeat; for `parley status`. */
    nodeSockets: () => `${prefix}parley:presence:node-sockets`,
    /** Hash: user id → when the user was last seen online (ms), written as sockets close and by heartbeats. */
    presenceLastSeen: () => `${prefix}parley:presence:last-seen`,
    /** Sorted set: revoked token ids (`jti`) → until when (ms, the token's exp); expired ones are pruned at each revocation. */
    revokedTokens: () => `${prefix}parley:auth:revoked`,
    /** Pub/sub channel: each revoked `jti`, so that every gateway closes the sockets opened with it. */
    revocations: () => `${prefix}parley:auth:revocations`,
    /** String: the run_id of the Redis process whose room heads were last reconciled with Postgres (see the gateway's redis-recovery.ts). */
    incarnation: () => `${prefix}parley:incarnation`,
    /** Stream: every event, for the persisters' consumer group; entries are deleted once in Postgres (room-append adds, persister deletes). */
    eventStream: () => `${prefix}parley:events`,
    /** Stream: event-stream entries Postgres refused, with their original fields plus `error`, `code` and `entry` (the persister adds; `parley dead-letters retry` moves them back). */
    deadLetters: () => `${prefix}parley:dead-letters`,
  };
}

export type Keys = ReturnType<typeof createKeys>;

/** The persisters' consumer group on the event stream. */
export const PERSISTER_GROUP = 'persisters';
