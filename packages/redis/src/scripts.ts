import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';

const scriptDir = new URL('../scripts/', import.meta.url);
/** Lua has no imports in Redis scripts: the shared functions are prepended to each script. */
const library = readFileSync(new URL('lib/membership.lua', scriptDir), 'utf8');
const lua = (name: string) => library + readFileSync(new URL(`${name}.lua`, scriptDir), 'utf8');

/** Each script with its key count; ioredis sends EVALSHA and falls back to EVAL once per connection. */
const definitions = {
  roomAppend: { file: 'room-append', numberOfKeys: 8 },
  roomMembersFill: { file: 'room-members-fill', numberOfKeys: 2 },
  roomPersisted: { file: 'room-persisted', numberOfKeys: 3 },
  positionMark: { file: 'position-mark', numberOfKeys: 4 },
  userPositionsFill: { file: 'user-positions-fill', numberOfKeys: 1 },
  roomReconcile: { file: 'room-reconcile', numberOfKeys: 2 },
} as const;

type ScriptName = keyof typeof definitions;
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

export type AppendStatus = 'OK' | 'DUPLICATE' | 'MEMBERS_UNCACHED' | 'NOT_MEMBER' | 'BACKLOG_FULL' | 'TARGET_DELETED' | 'HEAD_UNKNOWN';

/** Whether the append checks the sender's membership (see room-append.lua). */
export type AppendMode = 'member' | 'system' | 'bump';

export interface AppendInput {
  roomId: number;
  /** Null for a system message the service posts. */
  senderId: string | null;
  mode: AppendMode;
  clientId: string;
  id: string;
  createdAt: string;
  /** The event's JSON without `seq`; the script puts `seq` first. */
  eventJson: string;
  idempotencyTtlSeconds: number;
  maxBacklog: number;
  /** For an edit or deletion: the message it changes and that message's new state. */
  change?: { messageSeq: number; state: string };
}

export type AppendResult =
  | { status: 'OK' | 'DUPLICATE'; id: string; seq: number; createdAt: string }
  | { status: Exclude<AppendStatus, 'OK' | 'DUPLICATE'> };

/** A read position (what the user has read) or a delivered one (what the user's client has received). */
export type PositionKind = 'read' | 'delivered';
export type ReadMarkStatus = 'OK' | 'UNCHANGED' | 'READS_UNCACHED' | 'MEMBERS_UNCACHED' | 'NOT_MEMBER' | 'HEAD_UNKNOWN' | 'BACKLOG_FULL';
export type ReadMarkResult =
  | { status: 'OK' | 'UNCHANGED'; position: number; headSeq: number }
  | { status: Exclude<ReadMarkStatus, 'OK' | 'UNCHANGED'> };

/** Typed calls of Parley's Lua scripts (packages/redis/scripts), registered on one connection. */
export function createScripts(redis: Redis, keys: Keys) {
  for (const [name, def] of Object.entries(definitions)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: def.numberOfKeys, lua: lua(def.file) });
  }
  const call = (name: ScriptName) => (redis as unknown as Record<ScriptName, ScriptCall>)[name].bind(redis);
  const roomAppend = call('roomAppend');
  const roomMembersFill = call('roomMembersFill');
  const roomPersisted = call('roomPersisted');
  const positionMark = call('positionMark');
  const userPositionsFill = call('userPositionsFill');
  const roomReconcile = call('roomReconcile');

  return {
    async roomAppend(input: AppendInput): Promise<AppendResult> {
      const { roomId } = input;
      if (!input.eventJson.startsWith('{')) throw new Error('eventJson must be a JSON object');
      if (input.senderId === null && input.mode === 'member') throw new Error('a member message needs a sender');
      const sender = input.senderId ?? '';
      const reply = (await roomAppend(
        keys.roomMeta(roomId),
        keys.roomLog(roomId),
        keys.roomIdempotency(roomId, sender, input.clientId),
        keys.roomMembers(roomId),
        keys.eventStream(),
        keys.roomMembersGen(roomId),
        keys.roomChanges(roomId),
        keys.userPositions(sender),
        sender,
        input.eventJson.slice(1),
        input.id,
        input.createdAt,
        input.idempotencyTtlSeconds,
        keys.roomChannel(roomId),
        roomId,
        input.maxBacklog,
        input.mode,
        input.change?.messageSeq ?? '',
        input.change?.state ?? '',
      )) as [AppendStatus, string?, number?, string?];
      const [status, id, seq, createdAt] = reply;
      if (status === 'OK' || status === 'DUPLICATE') return { status, id: id!, seq: seq!, createdAt: createdAt! };
      return { status };
    },

    /** Returns false when membership changed since `generation` was read. */
    async roomMembersFill(roomId: number, generation: string, ttlSeconds: number, members: string[]) {
      const r = await roomMembersFill(keys.roomMembers(roomId), keys.roomMembersGen(roomId), generation, ttlSeconds, ...members);
      return r === 1;
    },

    /**
     * Moves `userId`'s read or delivered position in the room to `seq` (0: the head) if that is
     * forward, and publishes `receiptPrefix` + seq + `}` to the room. See position-mark.lua.
     */
    async positionMark(kind: PositionKind, userId: string, roomId: number, seq: number, receiptPrefix: string, maxBacklog: number): Promise<ReadMarkResult> {
      const [status, position, headSeq] = (await positionMark(
        keys.userPositions(userId),
        keys.roomMeta(roomId),
        keys.roomMembers(roomId),
        keys.eventStream(),
        userId,
        roomId,
        seq,
        keys.roomChannel(roomId),
        receiptPrefix,
        maxBacklog,
        kind,
      )) as [ReadMarkStatus, number?, number?];
      if (status === 'OK' || status === 'UNCHANGED') return { status, position: position!, headSeq: headSeq! };
      return { status };
    },

    /**
     * Raises the room's head to `persistedHead` (Postgres' highest seq) if it is below, dropping
     * the room's log; returns the head before (-1: none in Redis). See room-reconcile.lua.
     */
    async roomReconcile(roomId: number, persistedHead: number): Promise<number> {
      return Number(await roomReconcile(keys.roomMeta(roomId), keys.roomLog(roomId), persistedHead));
    },

    /** Caches a user's positions (field → seq: see keys.userPositions) unless they are cached already. */
    async userPositionsFill(userId: string, positions: Array<[field: string, seq: number]>): Promise<boolean> {
      return (await userPositionsFill(keys.userPositions(userId), ...positions.flat())) === 1;
    },

    async roomPersisted(roomId: number, persistedSeq: number, logWindow: number): Promise<number> {
      return (await roomPersisted(keys.roomMeta(roomId), keys.roomLog(roomId), keys.roomChanges(roomId), persistedSeq, logWindow)) as number;
    },
  };
}

export type Scripts = ReturnType<typeof createScripts>;
