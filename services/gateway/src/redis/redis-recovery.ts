import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { persistedHeads, type Database, type Kysely } from '@parley/db';
import { ParleyError } from '@parley/protocol';
import { masterOfKey, partitionNumbers, type Keys, type RedisClient, type Scripts } from '@parley/redis';

const RETRY_MS = 500;

/** A Redis master and the partitions whose slots it serves (all of them, outside a cluster). */
interface Master {
  node: Redis;
  partitions: number[];
}

/**
 * Keeps room heads ahead of Postgres whenever a Redis master may have lost acked writes: a restart
 * from an AOF that lacks its last second (a machine crash under `appendfsync everysec`), or a
 * replica promoted before it had every write (replication is asynchronous). Such a master would
 * hand out seqs Postgres already holds. So the node compares, for every partition, the run_id of the
 * master now serving it with the one recorded in the partition's slot at its last reconciliation;
 * for a partition with a new master it raises every room head in Redis to Postgres' highest seq
 * (room-reconcile.lua) before anything reads a head or appends. Outside a cluster this runs each
 * time the command connection becomes ready; in a cluster also after a node drops out or joins, and
 * at each slot refresh (a manual failover). The work is idempotent: every node does it, and
 * whichever finishes first records the run_id.
 */
export class RedisRecovery {
  private gate: Promise<void>;
  private open: (() => void) | undefined;
  private epochId = '';
  /** Each partition's master (run_id) as of the last check. */
  private partitionRunIds: string[] = [];
  private checking: Promise<void> | undefined;
  private rechecking: Promise<void> | undefined;
  private readonly changeListeners: Array<(partitions: Set<number>) => void> = [];

  constructor(
    /** How long a caller waits for the heads before it is refused with SERVICE_UNAVAILABLE. */
    private readonly waitMs: number,
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly scripts: Scripts,
    private readonly log: FastifyBaseLogger,
  ) {
    this.gate = new Promise((resolve) => (this.open = resolve));
    const close = () => this.closeGate();
    redis.on('close', close);
    redis.on('ready', () => void this.check());
    if (redis.isCluster) {
      // A master gone or a node joined: appends wait until its partitions are checked.
      for (const event of ['-node', '+node']) redis.on(event, () => (close(), void this.check()));
      redis.on('refresh', () => void this.check());
    }
    if (redis.status === 'ready') void this.check();
  }

  /**
   * Resolves once the heads in Redis are known to be no lower than Postgres'; rejects with
   * SERVICE_UNAVAILABLE if that takes longer than `waitMs` (Redis down, say).
   */
  ready(): Promise<void> {
    if (!this.open) return this.gate;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ParleyError('SERVICE_UNAVAILABLE', 'Redis is not ready; retry')), this.waitMs);
    });
    return Promise.race([this.gate, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * The Redis incarnation whose heads are in force (the run_ids of the masters): a client tells it
   * back on resume, so that seqs it received from an earlier one above a room's floor are known to
   * be suspect. In a cluster, any master's change changes it.
   */
  epoch(): string {
    return this.epochId;
  }

  /** The run_id of the master serving partition `p` as of the last check. */
  partitionEpoch(p: number): string {
    return this.partitionRunIds[p] ?? '';
  }

  /**
   * The partitions whose master changed since a client's `epoch`: all of them outside a cluster
   * (the one master restarted), or when the epoch is not one this deployment recorded.
   */
  async partitionsChangedSince(epoch: string): Promise<Set<number> | 'all'> {
    if (epoch === this.epochId) return new Set();
    const assignment = this.redis.isCluster ? await this.redis.hget(this.keys.epochs(), epoch) : null;
    if (!assignment) return 'all';
    const then = assignment.split(',');
    return new Set(partitionNumbers(this.keys).filter((p) => then[p] !== this.partitionRunIds[p]));
  }

  /**
   * Calls `listener` after each check that found partitions served by another master than at the
   * check before (a failover, a restart, a moved slot), with those partitions: what this node
   * relayed of their rooms may be gone.
   */
  onMastersChanged(listener: (partitions: Set<number>) => void): void {
    this.changeListeners.push(listener);
  }

  /**
   * A script found its server not reconciled for a partition (a failover this node has not seen
   * yet): the masters are checked again, callers meanwhile sharing that check, and each waits for
   * it as ready() does: no longer than `waitMs` (a promoted master that refuses writes can keep the
   * check failing for as long as it lasts).
   */
  recheck(): Promise<void> {
    if (!this.rechecking) {
      this.closeGate();
      this.rechecking = this.check(true).finally(() => (this.rechecking = undefined));
    }
    return this.ready();
  }

  /** Until the next check ends, callers of ready() wait. */
  private closeGate(): void {
    if (!this.open) this.gate = new Promise((resolve) => (this.open = resolve));
  }

  /**
   * One check at a time; a check asked for while one runs runs after it. Unless `thorough`, a
   * master whose run_id and partitions are those of the last check is taken as reconciled.
   */
  private check(thorough = false): Promise<void> {
    const next = (this.checking ?? Promise.resolve()).then(() => this.checkOnce(thorough));
    this.checking = next;
    return next;
  }

  private async checkOnce(thorough: boolean): Promise<void> {
    for (;;) {
      try {
        const masters = this.masters();
        const byPartition: string[] = [];
        for (const { node, partitions } of masters) {
          const runId = /run_id:(\w+)/.exec(await node.info('server'))![1]!;
          for (const p of partitions) byPartition[p] = runId;
          // Served by the same master as at the last check (a slot refresh that changed nothing):
          // already reconciled.
          if (!thorough && partitions.every((p) => this.partitionRunIds[p] === runId)) continue;
          // Asked of the server that holds each slot now: a slot map not yet updated after a
          // failover names a node that no longer serves them (a restarted old master, say).
          const served = await Promise.all(partitions.map((p) => this.scripts.partitionMaster(p)));
          const elsewhere = served.filter((s) => s.runId !== runId).length;
          if (elsewhere > 0)
            throw new Error(`the slot map is behind the cluster: ${elsewhere} of ${partitions.length} partitions are served by another master`);
          const stale = partitions.filter((_, i) => served[i]!.recorded !== runId);
          if (stale.length > 0) await this.reconcile(node, runId, stale);
        }
        const changed = new Set(this.partitionRunIds.flatMap((runId, p) => (runId !== byPartition[p] ? [p] : [])));
        this.partitionRunIds = byPartition;
        if (changed.size > 0) for (const listener of this.changeListeners) listener(changed);
        // One master: its run_id. Several: a digest of which master serves each partition, as short
        // and as hex as one (protocol: `epoch`), recorded so that a later resume can tell which
        // partitions changed master since.
        if (masters.length === 1) this.epochId = byPartition[0]!;
        else {
          const assignment = byPartition.join(',');
          this.epochId = createHash('sha1').update(assignment).digest('hex');
          await this.redis.hset(this.keys.epochs(), this.epochId, assignment);
        }
        break;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'reconciling room heads after a Redis restart or failover failed; retrying');
        if (this.redis.status !== 'ready') return; // the next 'ready' checks again
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    const open = this.open;
    this.open = undefined;
    open?.();
  }

  private masters(): Master[] {
    const byNode = new Map<Redis, number[]>();
    for (const p of partitionNumbers(this.keys)) {
      const node = masterOfKey(this.redis, this.keys.partitionIncarnation(p));
      if (!node) throw new Error(`no master known for partition ${p}`);
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    return [...byNode].map(([node, partitions]) => ({ node, partitions }));
  }

  /** Raises the heads of the rooms of `partitions`, all served by `node`, then records its run_id for them. */
  private async reconcile(node: Redis, runId: string, partitions: number[]): Promise<void> {
    const wanted = new Set(partitions);
    let rooms = 0;
    const raised: Array<{ roomId: number; from: number; to: number }> = [];
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', this.keys.roomMetaPattern(), 'COUNT', 1000);
      cursor = next;
      const ids = found.map((k) => this.keys.roomOfMeta(k)).filter((id) => id !== undefined && wanted.has(this.keys.partitionOf(id))) as number[];
      rooms += ids.length;
      const persisted = await persistedHeads(this.db, ids);
      // One batch's scripts go out together on the connection, not a round trip per room.
      const befores = await Promise.all(ids.map((roomId) => this.scripts.roomReconcile(roomId, persisted.get(roomId) ?? 0)));
      befores.forEach((before, i) => {
        const head = persisted.get(ids[i]!) ?? 0;
        if (before >= 0 && before < head) raised.push({ roomId: ids[i]!, from: before, to: head });
      });
    } while (cursor !== '0');
    await Promise.all(partitions.map((p) => this.redis.set(this.keys.partitionIncarnation(p), runId)));
    // A Sentinel-found master's options name a placeholder address: its run_id says which it is.
    const where = { partitions: partitions.length, master: runId, ...(this.redis.isCluster ? { address: `${node.options.host}:${node.options.port}` } : {}) };
    if (raised.length > 0)
      this.log.warn({ ...where, rooms, raised: raised.slice(0, 20), raisedCount: raised.length }, 'Redis lost acked events: room heads raised to Postgres');
    else this.log.info({ ...where, rooms }, 'room heads reconciled with a new Redis');
  }
}
