import { mastersOf, type RedisClient } from './connect.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { eventAroundSeq, type UserPresence } from '@parley/protocol';
import { PERSISTER_GROUP, positionField, type Keys } from './keys.js';
import { presenceOf } from './presence.js';

const scriptDir = new URL('../scripts/', import.meta.url);
/** What the scripts share: defined once at the top of the library. */
const shared = ['membership', 'server'].map((f) => readFileSync(new URL(`lib/${f}.lua`, scriptDir), 'utf8')).join('\n');

/**
 * Each script's keys and arguments by name, in the order Redis receives them: the one place where
 * names meet positions. The script reads them as `KEY.name` and `ARG.name`, which become `KEYS[i]`
 * and `ARGV[i]` in its text (no table built per call); arguments past the named ones (`rest`) start
 * at `ARGV[ARG_REST]`, and keys past the named ones at `KEYS[KEY_REST]`.
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
  roomReconcile: { file: 'room-reconcile', keys: ['meta', 'log', 'incarnation'], args: ['persisted'] },
  partitionMaster: { file: 'partition-master', keys: ['incarnation'], args: [] },
  streamAck: { file: 'stream-ack', keys: ['stream'], args: ['group'], rest: true },
  presenceLeave: { file: 'presence-leave', keys: ['node', 'lastSeen', 'nodes'], args: ['user', 'self', 'state', 'now', 'liveSince'], rest: true },
} as const satisfies Record<string, { file: string; keys: readonly string[]; args: readonly string[]; rest?: boolean }>;

type Definitions = typeof definitions;
type ScriptName = keyof Definitions;
type Named<N extends readonly string[], V> = { [K in N[number]]: V };

/** The script's body with its names bound to positions; an unknown name is a mistake in the script. */
function boundBody(name: ScriptName): string {
  const def: { file: string; keys: readonly string[]; args: readonly string[] } = definitions[name];
  const position = (names: readonly string[], array: string) => (_: string, n: string) => {
    const i = names.indexOf(n);
    if (i < 0) throw new Error(`${def.file}.lua names ${array === 'KEYS' ? 'KEY' : 'ARG'}.${n}, which ${name} does not declare`);
    return `${array}[${i + 1}]`;
  };
  return readFileSync(new URL(`${def.file}.lua`, scriptDir), 'utf8')
    .replace(/\bKEY\.([A-Za-z]\w*)/g, position(def.keys, 'KEYS'))
    .replace(/\bARG\.([A-Za-z]\w*)/g, position(def.args, 'ARGV'))
    .replace(/\bARG_REST\b/g, String(def.args.length + 1))
    .replace(/\bKEY_REST\b/g, String(def.keys.length + 1));
}

/**
 * Parley's scripts as one Redis Functions library (Redis 7): loaded once per server, it keeps what
 * it reads of the server itself (its run_id) for the life of the process, which a script run by
 * EVALSHA cannot. The library's and each function's name carry a hash of its text, so that two
 * releases of Parley run side by side on one Redis during a rolling upgrade, each calling its own.
 */
function buildLibrary() {
  const names = Object.keys(definitions) as ScriptName[];
  const bodies = names.map((name) => `local function ${name}(KEYS, ARGV)\n${boundBody(name)}\nend\n`).join('\n');
  const hash = createHash('sha1').update(shared).update(bodies).digest('hex').slice(0, 12);
  const functionNames = Object.fromEntries(names.map((name) => [name, `parley_${name}_${hash}`])) as Record<ScriptName, string>;
  const registrations = names.map((name) => `redis.register_function('${functionNames[name]}', ${name})`).join('\n');
  return { name: `parley_${hash}`, text: `#!lua name=parley_${hash}\n${shared}\n${bodies}\n${registrations}\n`, functionNames };
}

let built: ReturnType<typeof buildLibrary> | undefined;
/** The library: its name, its text as FUNCTION LOAD takes it, and each script's function name. */
export function scriptLibrary(): ReturnType<typeof buildLibrary> {
  return (built ??= buildLibrary());
}

/** Loads the library on every master (replicas get it from their master; REPLACE: a racing loader's copy is the same text). */
export async function loadScriptLibrary(redis: RedisClient): Promise<void> {
  const { text } = scriptLibrary();
  await Promise.all(mastersOf(redis).map((node) => node.call('FUNCTION', 'LOAD', 'REPLACE', text)));
}

function isFunctionMissing(err: unknown): boolean {
  return err instanceof Error && err.message.includes('Function not found');
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
    roomReconcile: (roomId: number) => ({
      meta: keys.roomMeta(roomId),
      log: keys.roomLog(roomId),
      incarnation: keys.partitionIncarnation(keys.partitionOf(roomId)),
    }),
    partitionMaster: (partition: number) => ({ incarnation: keys.partitionIncarnation(partition) }),
    streamAck: (partition: number) => ({ stream: keys.eventStream(partition) }),
    presenceLeave: (nodeId: string) => ({ node: keys.presenceNode(nodeId), lastSeen: keys.presenceLastSeen(), nodes: keys.presenceNodes() }),
  } satisfies { [N in ScriptName]: (...args: never[]) => Named<Definitions[N]['keys'], string> };
}

/**
 * Typed calls of Parley's Lua scripts (packages/redis/scripts), as functions of one library. A
 * server that lacks it (one that started empty, a new master, `FUNCTION FLUSH`) has it loaded on
 * every master by the first call that finds it missing, which then runs again.
 */
export function createScripts(redis: RedisClient, keys: Keys) {
  const { functionNames } = scriptLibrary();
  const callKeys = scriptCallKeys(keys);
  let loading: Promise<void> | undefined;
  /** Calls a script with its keys and arguments by name; `rest` follows the named arguments, `restKeys` the named keys. */
  async function run<N extends ScriptName>(
    name: N,
    k: Named<Definitions[N]['keys'], string>,
    a: Named<Definitions[N]['args'], string | number>,
    rest: (string | number)[] = [],
    restKeys: string[] = [],
  ): Promise<unknown> {
    const keyList = [...scriptKeys(name, k), ...restKeys];
    const args = [functionNames[name], keyList.length, ...keyList, ...definitions[name].args.map((n) => (a as Record<string, string | number>)[n]!), ...rest];
    try {
      return await redis.fcall(...(args as [string, number, ...(string | number)[]]));
    } catch (err) {
      if (!isFunctionMissing(err)) throw err;
      await (loading ??= loadScriptLibrary(redis).finally(() => (loading = undefined)));
      return await redis.fcall(...(args as [string, number, ...(string | number)[]]));
    }
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
     * the room's log, and sets its floor; returns the head before (-1: none in Redis). A partition
     * already recorded as reconciled on this server is left as it is. See room-reconcile.lua.
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

    /** Acknowledges and deletes entries of a partition's event stream (the persisters'); returns how many were deleted. */
    async streamAck(partition: number, ids: string[]): Promise<number> {
      return (await run('streamAck', callKeys.streamAck(partition), { group: PERSISTER_GROUP }, ids)) as number;
    },

    /**
     * The user is away on gateway `self`, or has no socket left on it: recorded, and their presence
     * over the live gateways returned (presence-leave.lua). `others`: the other gateways the caller
     * knows of; when a live one is missing, nothing is done and the live gateways are returned.
     */
    async presenceLeave(
      self: string,
      userId: string,
      state: 'away' | 'gone',
      liveSince: number,
      others: string[],
    ): Promise<{ status: 'OK'; presence: UserPresence } | { status: 'NODES'; live: string[] }> {
      const reply = (await run(
        'presenceLeave',
        callKeys.presenceLeave(self),
        { user: userId, self, state, now: Date.now(), liveSince },
        others,
        others.map((node) => keys.presenceNode(node)),
      )) as string[];
      const [status, ...rest] = reply;
      if (status === 'NODES') return { status, live: rest };
      const [now, seen] = rest as [UserPresence['state'], string];
      return { status: 'OK', presence: presenceOf(userId, now, seen) };
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
