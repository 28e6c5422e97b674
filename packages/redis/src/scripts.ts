import type { RedisClient } from './connect.js';
import { readFileSync } from 'node:fs';
import { eventAroundSeq } from '@parley/protocol';
import { positionField, type Keys } from './keys.js';

const scriptDir = new URL('../scripts/', import.meta.url);
/** Lua has no imports in Redis scripts: the shared functions are prepended to each script. */
const library = readFileSync(new URL('lib/membership.lua', scriptDir), 'utf8');

/**
 * Each script's keys and arguments by name, in the order Redis receives them: the one place where
 * names meet positions. The script reads them as `KEY.name` and `ARG.name` (tables prepended to its
 * text below); arguments past the named ones (`rest`) start at `ARGV[ARG_REST]`.
 */
const definitions = {
  roomAppend: {
    file: 'room-append',
    keys: ['meta', 'log', 'idempotency', 'members', 'stream', 'membersGen', 'changes', 'incarnation'],
    args: [
      'sender',
      'eventHead',
      'eventTail',
      'id',
      'createdAt',
      'idempotencyTtl',
      'channel',
      'room',
      'maxBacklog',
      'mode',
      'targetSeq',
      'changeKind',
      'change',
    ],
  },
  roomMembersFill: { file: 'room-members-fill', keys: ['members', 'membersGen'], args: ['generation', 'ttl'], rest: true },
  roomPersisted: { file: 'room-persisted', keys: ['meta', 'log', 'changes'], args: ['persisted', 'logWindow'] },
  positionMark: {
    file: 'position-mark',
    keys: ['meta', 'members', 'stream'],
    args: ['user', 'room', 'seq', 'current', 'channel', 'receiptHead', 'receiptTail', 'maxBacklog', 'kind'],
  },
  positionRaise: { file: 'position-raise', keys: ['positions'], args: ['field', 'seq'] },
  userPositionsFill: { file: 'user-positions-fill', keys: ['positions'], args: [], rest: true },
  roomReconcile: { file: 'room-reconcile', keys: ['meta', 'log'], args: ['persisted'] },
  partitionMaster: { file: 'partition-master', keys: ['incarnation'], args: [] },
} as const satisfies Record<string, { file: string; keys: readonly string[]; args: readonly string[]; rest?: boolean }>;

type Definitions = typeof definitions;
type ScriptName = keyof Definitions;
type Named<N extends readonly string[], V> = { [K in N[number]]: V };
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

function luaTable(names: readonly string[], array: string): string {
  return `{${names.map((name, i) => `${name} = ${array}[${i + 1}]`).join(', ')}}`;
}

/** The script's text as Redis runs it: the name tables, the shared library, the script. */
export function scriptSource(name: ScriptName): string {
  const def = definitions[name];
  const header = `local KEY = ${luaTable(def.keys, 'KEYS')}\nlocal ARG = ${luaTable(def.args, 'ARGV')}\nlocal ARG_REST = ${def.args.length + 1}\n`;
  return header + library + readFileSync(new URL(`${def.file}.lua`, scriptDir), 'utf8');
}

/** The keys a call of `name` declares, in order: what Redis Cluster routes it by. */
export function scriptKeys<N extends ScriptName>(name: N, keys: Named<Definitions[N]['keys'], string>): string[] {
  return definitions[name].keys.map((k) => (keys as Record<string, string>)[k]!);
}

/**
 * The keys of each script call, by name, from what identifies it: what the calls below declare, and
 * what the slot test (test/keys.unit.test.ts) checks lie in one Redis Cluster slot.
 */
export function scriptCallKeys(keys: Keys) {
  return {
    roomAppend: (roomId: number, sender: string, clientId: string) => ({
      meta: keys.roomMeta(roomId),
      log: keys.roomLog(roomId),
      idempotency: keys.roomIdempotency(roomId, sender, clientId),
      members: keys.roomMembers(roomId),
      stream: keys.eventStream(keys.partitionOf(roomId)),
      membersGen: keys.roomMembersGen(roomId),
      changes: keys.roomChanges(roomId),
      incarnation: keys.partitionIncarnation(keys.partitionOf(roomId)),
    }),
    roomMembersFill: (roomId: number) => ({ members: keys.roomMembers(roomId), membersGen: keys.roomMembersGen(roomId) }),
    roomPersisted: (roomId: number) => ({ meta: keys.roomMeta(roomId), log: keys.roomLog(roomId), changes: keys.roomChanges(roomId) }),
    positionMark: (roomId: number) => ({ meta: keys.roomMeta(roomId), members: keys.roomMembers(roomId), stream: keys.eventStream(keys.partitionOf(roomId)) }),
    positionRaise: (userId: string) => ({ positions: keys.userPositions(userId) }),
    userPositionsFill: (userId: string) => ({ positions: keys.userPositions(userId) }),
    roomReconcile: (roomId: number) => ({ meta: keys.roomMeta(roomId), log: keys.roomLog(roomId) }),
    partitionMaster: (partition: number) => ({ incarnation: keys.partitionIncarnation(partition) }),
  } satisfies { [N in ScriptName]: (...args: never[]) => Named<Definitions[N]['keys'], string> };
}

/** Typed calls of Parley's Lua scripts (packages/redis/scripts), registered on one connection. */
export function createScripts(redis: RedisClient, keys: Keys) {
  for (const [name, def] of Object.entries(definitions)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: def.keys.length, lua: scriptSource(name as ScriptName) });
  }
  const callKeys = scriptCallKeys(keys);
  /** Calls a script with its keys and arguments by name; `rest` follows the named arguments. */
  function run<N extends ScriptName>(
    name: N,
    k: Named<Definitions[N]['keys'], string>,
    a: Named<Definitions[N]['args'], string | number>,
    rest: (string | number)[] = [],
  ): Promise<unknown> {
    const args = definitions[name].args.map((n) => (a as Record<string, string | number>)[n]!);
    return (redis as unknown as Record<ScriptName, ScriptCall>)[name].call(redis, ...scriptKeys(name, k), ...args, ...rest);
  }

  return {
    async roomAppend(input: AppendInput): Promise<AppendResult> {
      const { roomId } = input;
      const [eventHead, eventTail] = eventAroundSeq(input.eventJson);
      if (input.senderId === null && input.mode === 'member') throw new Error('a member message needs a sender');
      const sender = input.senderId ?? '';
      const reply = (await run('roomAppend', callKeys.roomAppend(roomId, sender, input.clientId), {
        sender,
        eventHead,
        eventTail,
        id: input.id,
        createdAt: input.createdAt,
        idempotencyTtl: input.idempotencyTtlSeconds,
        channel: keys.roomChannel(roomId),
        room: roomId,
        maxBacklog: input.maxBacklog,
        mode: input.mode,
        targetSeq: input.change?.messageSeq ?? '',
        changeKind: input.change?.kind ?? '',
        change: input.change?.json ?? '',
      })) as [AppendStatus, string?, number?, string?];
      const [status, id, seq, createdAt] = reply;
      if (status === 'OK' || status === 'DUPLICATE') return { status, id: id!, seq: seq!, createdAt: createdAt! };
      return { status };
    },

    /** Returns false when membership changed since `generation` was read. */
    async roomMembersFill(roomId: number, generation: string, ttlSeconds: number, members: string[]) {
      const r = await run('roomMembersFill', callKeys.roomMembersFill(roomId), { generation, ttl: ttlSeconds }, members);
      return r === 1;
    },

    /**
     * Moves `userId`'s read or delivered position in the room to `seq` (0: the head) if that is
     * forward: records it for Postgres and publishes the receipt (its head + seq + its tail) to the room
     * (position-mark, in the room's slot), then raises the user's positions hash (position-raise,
     * in the user's). A failure between the two leaves the hash behind, so a retry records it again.
     */
    async positionMark(
      kind: PositionKind,
      userId: string,
      roomId: number,
      seq: number,
      [receiptHead, receiptTail]: [string, string],
      maxBacklog: number,
    ): Promise<ReadMarkResult> {
      const field = positionField(kind, roomId);
      const [filled, current] = await redis.hmget(keys.userPositions(userId), '', field);
      if (filled === null) return { status: 'READS_UNCACHED' };
      const [status, position, headSeq] = (await run('positionMark', callKeys.positionMark(roomId), {
        user: userId,
        room: roomId,
        seq,
        current: Number(current ?? 0),
        channel: keys.roomChannel(roomId),
        receiptHead,
        receiptTail,
        maxBacklog,
        kind,
      })) as [ReadMarkStatus, number?, number?];
      if (status === 'UNCHANGED') return { status, position: position!, headSeq: headSeq! };
      if (status !== 'OK') return { status };
      // A concurrent mark may have raised it further already: then this one changed nothing.
      const raised = await run('positionRaise', callKeys.positionRaise(userId), { field, seq: position! });
      return { status: raised === 1 ? 'OK' : 'UNCHANGED', position: position!, headSeq: headSeq! };
    },

    /**
     * Raises the room's head to `persistedHead` (Postgres' highest seq) if it is below, dropping
     * the room's log; returns the head before (-1: none in Redis). See room-reconcile.lua.
     */
    async roomReconcile(roomId: number, persistedHead: number): Promise<number> {
      return Number(await run('roomReconcile', callKeys.roomReconcile(roomId), { persisted: persistedHead }));
    },

    /**
     * The run_id of the master that serves partition `partition` now, asked of it through the
     * cluster's routing, and the run_id recorded at the partition's last reconciliation ('' if none).
     */
    async partitionMaster(partition: number): Promise<{ runId: string; recorded: string }> {
      const [runId, recorded] = (await run('partitionMaster', callKeys.partitionMaster(partition), {})) as [string, string];
      return { runId, recorded };
    },

    /** Caches a user's positions (field → seq: see keys.userPositions) unless they are cached already. */
    async userPositionsFill(userId: string, positions: Array<[field: string, seq: number]>): Promise<boolean> {
      return (await run('userPositionsFill', callKeys.userPositionsFill(userId), {}, positions.flat())) === 1;
    },

    async roomPersisted(roomId: number, persistedSeq: number, logWindow: number): Promise<number> {
      return (await run('roomPersisted', callKeys.roomPersisted(roomId), { persisted: persistedSeq, logWindow })) as number;
    },
  };
}

export type Scripts = ReturnType<typeof createScripts>;

export type AppendStatus = 'OK' | 'DUPLICATE' | 'MEMBERS_UNCACHED' | 'NOT_MEMBER' | 'BACKLOG_FULL' | 'TARGET_DELETED' | 'HEAD_UNKNOWN' | 'UNRECONCILED';

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
  /** For an edit or deletion: the message it changes, and the change as JSON (a MessageChange). */
  change?: { messageSeq: number; kind: 'edit' | 'delete'; json: string };
}

export type AppendResult = { status: 'OK' | 'DUPLICATE'; id: string; seq: number; createdAt: string } | { status: Exclude<AppendStatus, 'OK' | 'DUPLICATE'> };

/** A read position (what the user has read) or a delivered one (what the user's client has received). */
export type PositionKind = 'read' | 'delivered';
export type ReadMarkStatus = 'OK' | 'UNCHANGED' | 'READS_UNCACHED' | 'MEMBERS_UNCACHED' | 'NOT_MEMBER' | 'HEAD_UNKNOWN' | 'BACKLOG_FULL';
export type ReadMarkResult = { status: 'OK' | 'UNCHANGED'; position: number; headSeq: number } | { status: Exclude<ReadMarkStatus, 'OK' | 'UNCHANGED'> };
