import type { MessageChange } from '@parley/protocol';
import { partitionOfRoom, partitionTags } from './partitions.js';

/**
 * Partitions when REDIS_PARTITIONS is not set: enough for 128 shards. Every process of a deployment
 * must use the same number (see `claimPartitions`); changing it is a migration (docs/operations.md).
 */
export const DEFAULT_PARTITIONS = 128;

/** Rooms whose partition is remembered (see `partitionOf` below). */
const ROOM_PARTITION_CACHE = 65_536;

export interface KeyOptions {
  /** Lets several deployments (or test files) share one Redis; it must not contain `{` or `}`. */
  prefix?: string;
  partitions?: number;
}

/**
 * Every Redis key and channel name Parley uses, built in one place. Rooms are spread over a fixed
 * number of partitions (jump hash of the room id); each partition has a hash tag, so a room's keys,
 * its channel and its partition's event stream lie in one Redis Cluster slot and one script may
 * touch them all. A user's keys share the `{user:ID}` tag; the few global keys share `{parley}`, so
 * that one pipeline may read them together.
 */
export function createKeys({ prefix = '', partitions = DEFAULT_PARTITIONS }: KeyOptions = {}) {
  if (/[{}]/.test(prefix)) throw new Error('REDIS_KEY_PREFIX must not contain "{" or "}"');
  const tags = partitionTags(partitions);
  // A room's partition costs a 64-bit hash (about 1 µs) and a send builds eight keys: remember the
  // recent rooms' partitions, forgetting all of them when too many are held.
  const partitionsOfRooms = new Map<number, number>();
  const partitionOf = (roomId: number) => {
    let p = partitionsOfRooms.get(roomId);
    if (p === undefined) {
      if (partitionsOfRooms.size >= ROOM_PARTITION_CACHE) partitionsOfRooms.clear();
      p = partitionOfRoom(roomId, partitions);
      partitionsOfRooms.set(roomId, p);
    }
    return p;
  };
  const partition = (p: number) => {
    if (!Number.isInteger(p) || p < 0 || p >= partitions) throw new RangeError(`no partition ${p} of ${partitions}`);
    return `${prefix}{${tags[p]}}`;
  };
  const room = (id: number) => `${partition(partitionOf(id))}:room:${id}`;
  const user = (id: string) => `${prefix}{user:${id}}`;
  const global = `${prefix}{parley}`;
  return {
    partitions,
    /** The partition a room's keys and events live in. */
    partitionOf,
    /** Hash: `seq` = head seq (room-append), `persisted` = highest seq below which Postgres has every message (room-persisted), `floor` (room-reconcile), `u:<user id>` = seq of the user's newest message, which they have read (room-append). */
    roomMeta: (id: number) => `${room(id)}:meta`,
    /** Stream, entry id `<seq>-0`: every event not yet persisted plus the last ROOM_LOG_WINDOW events, for resume and history (room-append adds, room-persisted trims). */
    roomLog: (id: number) => `${room(id)}:log`,
    /** String `id|seq|created_at` with a TTL: the idempotency record of one client_id of one sender (room-append). */
    roomIdempotency: (id: number, senderId: string, clientId: string) => `${room(id)}:idem:${senderId.length}:${senderId}:${clientId}`,
    /** Hash: field (changeField) `edit:<seq>` = the latest edit of message seq, `delete:<seq>` = its deletion, each `<event seq>|<change JSON>` (a MessageChange); folded over history until Postgres has it (room-append sets, room-persisted trims). */
    roomChanges: (id: number) => `${room(id)}:changes`,
    /** Set: seqs of the room's events the persisters dead-lettered, until the persisted watermark passes them (persister adds and removes). */
    roomDeadSeqs: (id: number) => `${room(id)}:dead-seqs`,
    /** Set: cache of the room's member ids plus the sentinel "" (room-members-fill; dropped by room-append in `bump` mode). */
    roomMembers: (id: number) => `${room(id)}:members`,
    /** Counter: bumped on every membership change so that a fill racing a change is discarded (room-append in `bump` mode). */
    roomMembersGen: (id: number) => `${room(id)}:members-gen`,
    /** Sharded pub/sub channel: every event of the room, encoded once as its wire frame (room-append publishes). */
    roomChannel: (id: number) => `${room(id)}:events`,
    /** Stream: every event of the partition's rooms, for the persisters' consumer group; entries are deleted once in Postgres (room-append adds, persister deletes). */
    eventStream: (p: number) => `${partition(p)}:events`,
    /** Stream: the partition's event-stream entries Postgres refused, with their original fields plus `error`, `code` and `entry` (the persister adds; `parley dead-letters retry` moves them back). */
    deadLetters: (p: number) => `${partition(p)}:dead-letters`,
    /** String: the run_id of the Redis master whose heads of the partition's rooms were last reconciled with Postgres (the gateway's redis-recovery.ts); in the partition's slot, so it fails over with the rooms. */
    partitionIncarnation: (p: number) => `${partition(p)}:incarnation`,
    /** Hash: field (positionField) = room id → the seq up to which the user has marked it read, "d" + room id → up to which the user's client received it; the sentinel "" once filled from Postgres (position-raise sets, user-positions-fill fills). */
    userPositions: (userId: string) => `${user(userId)}:positions`,
    /** Sharded pub/sub channel: control messages for one user's sockets on every gateway (membership changes, read state). */
    userChannel: (userId: string) => `${user(userId)}:control`,
    /** Hash: a cluster's epoch (a digest) → the run_id of the master serving each partition then, comma-separated; one entry per failover or resharding (the gateway's redis-recovery.ts). */
    epochs: () => `${global}:epochs`,
    /** String: the deployment's number of partitions, set by the first process to start (claimPartitions). */
    partitionCount: () => `${global}:partitions`,
    /** Sorted set: gateway node id → time of its last presence heartbeat (ms); a node silent for the presence TTL is dead. */
    presenceNodes: () => `${global}:presence:nodes`,
    /** Hash: user id → `online` or `away`, for the users with a socket on this node; rewritten by each heartbeat. */
    presenceNode: (nodeId: string) => `${global}:presence:node:${nodeId}`,
    /** Hash: gateway node id → its open sockets (after hello), written by each heartbeat; for `parley status`. */
    nodeSockets: () => `${global}:presence:node-sockets`,
    /** Hash: user id → when the user was last seen online (ms), written as sockets close and by heartbeats. */
    presenceLastSeen: () => `${global}:presence:last-seen`,
    /** Sorted set: revoked token ids (`jti`) → until when (ms, the token's exp); expired ones are pruned at each revocation. */
    revokedTokens: () => `${global}:auth:revoked`,
    /** Pub/sub channel (classic, reaching every node): each revoked `jti`, so that every gateway closes the sockets opened with it. */
    revocations: () => `${global}:auth:revocations`,
    /** Prefix of @fastify/rate-limit's counters, one key per user (the store adds the user id). */
    restRateNamespace: () => `${prefix}parley:rate:rest:`,
    /** SCAN pattern of every room's meta hash, and the room id of a key it matched (undefined: none). */
    roomMetaPattern: () => `${globEscape(prefix)}{*}:room:*:meta`,
    roomOfMeta: (key: string): number | undefined => {
      const id = Number(/^[^{]*\{[^}]*\}:room:(\d+):meta$/.exec(key)?.[1]);
      return Number.isSafeInteger(id) && key === `${room(id)}:meta` ? id : undefined;
    },
  };
}

/** A literal for a SCAN MATCH pattern. */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

export type Keys = ReturnType<typeof createKeys>;

/** The persisters' consumer group on each partition's event stream. */
export const PERSISTER_GROUP = 'persisters';

/** The field of a room's position in a user's positions hash (see keys.userPositions). */
export function positionField(kind: 'read' | 'delivered', roomId: number): string {
  return kind === 'read' ? String(roomId) : `d${roomId}`;
}

/** The field of a room's changes hash holding a message's latest edit or its deletion (see keys.roomChanges). */
export function changeField(kind: MessageChange['kind'], messageSeq: number): string {
  return `${kind}:${messageSeq}`;
}

/** The messages deleted, from the field names of a room's changes hash (HKEYS). */
export function deletedSeqsOf(fields: string[]): number[] {
  const prefix = changeField('delete', 0).slice(0, -1);
  return fields.filter((f) => f.startsWith(prefix)).map((f) => Number(f.slice(prefix.length)));
}

/** The changes-hash fields of these messages, to HMGET: each one's latest edit, then its deletion. */
export function changeFieldsOf(seqs: number[]): string[] {
  return seqs.flatMap((seq) => [changeField('edit', seq), changeField('delete', seq)]);
}

/**
 * The reply of an HMGET of changeFieldsOf(seqs) as each message's changes, in seq order (an edit is
 * refused once deleted, so the latest edit comes before the deletion). Values are `<event seq>|<change JSON>`.
 */
export function changesOfFields(seqs: number[], values: Array<string | null>): Map<number, MessageChange[]> {
  const bySeq = new Map<number, MessageChange[]>();
  seqs.forEach((seq, i) => {
    const changes = values.slice(2 * i, 2 * i + 2).flatMap((v) => (v === null ? [] : [JSON.parse(v.slice(v.indexOf('|') + 1)) as MessageChange]));
    if (changes.length > 0) bySeq.set(seq, changes);
  });
  return bySeq;
}

/** The field of a room's meta hash holding the seq of a user's newest message (see room-append.lua). */
export function sentField(userId: string): string {
  return `u:${userId}`;
}

/** Each partition's number, for loops over all of them. */
export function partitionNumbers(keys: Keys): number[] {
  return Array.from({ length: keys.partitions }, (_, p) => p);
}
