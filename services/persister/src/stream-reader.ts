import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { masterOfKey, PERSISTER_GROUP, partitionNumbers, waitForReplicas, type Keys, type RedisClient, type Scripts } from '@parley/redis';
import type { PersisterConfig } from './config.js';
import type { PersisterMetrics } from './metrics.js';
import { roomSeqOf, type StreamEntry } from './stream-entry.js';

/** A stream entry and the partition whose event stream it was read from. */
export interface PartitionEntry {
  partition: number;
  entry: StreamEntry;
}

/**
 * The persister's side of the partitions' event streams, as one consumer of their group: reads
 * (its own pending entries first, then new ones), claims what a dead consumer left pending, and
 * acks. Nothing it reads is acked until `ack`: a crash leaves it pending, for another to claim.
 */
export class StreamReader {
  /** Our own pending entries may need a retry: read them (id 0) before new ones (>). */
  private ownPending = true;
  private lastClaim = 0;
  /** Each partition's XAUTOCLAIM cursor. */
  private readonly claimCursors: string[];
  private stopping = false;
  /**
   * Entries asked of each partition per read: a batch shared among the partitions that had entries
   * at the last read, so that a read brings about one batch, which the persister parses while the
   * last one is written (a read of a batch from each of many partitions held it for its decoding).
   */
  private perPartition: number;

  constructor(
    private readonly config: PersisterConfig,
    /** For blocking reads only. */
    private readonly blocking: RedisClient,
    private readonly redis: RedisClient,
    private readonly scripts: Scripts,
    private readonly keys: Keys,
    private readonly metrics: PersisterMetrics,
    private readonly log: Logger,
  ) {
    this.claimCursors = partitionNumbers(keys).map(() => '0-0');
    this.perPartition = config.batchSize;
  }

  /** Creates each partition's stream and consumer group, unless they exist. */
  async createGroups(): Promise<void> {
    await Promise.all(
      partitionNumbers(this.keys).map(async (p) => {
        try {
          await this.redis.xgroup('CREATE', this.keys.eventStream(p), PERSISTER_GROUP, '0', 'MKSTREAM');
        } catch (err) {
          if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
        }
      }),
    );
  }

  /** Whether the next read is of this consumer's own pending entries (a retry), not new ones. */
  get readingOwnPending(): boolean {
    return this.ownPending;
  }

  /** Something read was not written: it stays pending for this consumer, to be read again first. */
  rewind(): void {
    this.ownPending = true;
  }

  /** No more pauses between empty reads: the persister is stopping. */
  stop(): void {
    this.stopping = true;
  }

  /**
   * The next entries of every partition: this consumer's own pending ones (id 0) while there may be
   * some, else new ones; `more` when a partition may hold more than it gave.
   */
  async read(): Promise<{ entries: PartitionEntry[]; more: boolean }> {
    const from = this.ownPending ? '0' : '>';
    const count = this.perPartition;
    const read = this.blocking.isCluster ? await this.readEach(from, count) : await this.readAll(from, count);
    const busy = read.filter((r) => r.entries.length > 0);
    await this.onReplicas(
      this.blocking,
      busy.map((r) => r.partition),
    );
    const more = read.some((r) => r.entries.length >= count);
    if (from === '0' && !more) this.ownPending = false;
    if (busy.length > 0) this.perPartition = Math.ceil(this.config.batchSize / busy.length);
    return { entries: read.flatMap(({ partition, entries }) => entries.map((entry) => ({ partition, entry }))), more };
  }

  /** One XREADGROUP over every partition's stream, waiting up to PERSISTER_BLOCK_MS for new entries in any. */
  private async readAll(from: '0' | '>', count: number): Promise<Array<{ partition: number; entries: StreamEntry[] }>> {
    const { blockMs, consumer } = this.config;
    const streams = partitionNumbers(this.keys).map((p) => this.keys.eventStream(p));
    const ids = streams.map(() => from);
    // The command's own method, not call(): over RESP3 its reply is a map, which only the method
    // turns back into the [[stream, entries]] shape.
    const reply = (
      from === '>'
        ? await this.blocking.xreadgroup('GROUP', PERSISTER_GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...streams, ...ids)
        : await this.blocking.xreadgroup('GROUP', PERSISTER_GROUP, consumer, 'COUNT', count, 'STREAMS', ...streams, ...ids)
    ) as [string, StreamEntry[]][] | null;
    const partitionOf = new Map(streams.map((stream, p) => [stream, p]));
    return (reply ?? []).map(([stream, entries]) => ({ partition: partitionOf.get(stream)!, entries }));
  }

  /**
   * A cluster refuses XREADGROUP over streams of several slots, and a blocking read would hold a
   * node's connection: one read per partition instead, all sent together, and when every stream
   * is empty a pause of PERSISTER_LINGER_MS (at least 10 ms) before the next round.
   */
  private async readEach(from: '0' | '>', count: number): Promise<Array<{ partition: number; entries: StreamEntry[] }>> {
    const { consumer } = this.config;
    const read = await Promise.all(
      partitionNumbers(this.keys).map(async (partition) => {
        const reply = (await this.blocking.xreadgroup(
          'GROUP',
          PERSISTER_GROUP,
          consumer,
          'COUNT',
          count,
          'STREAMS',
          this.keys.eventStream(partition),
          from,
        )) as [string, StreamEntry[]][] | null;
        return { partition, entries: reply?.[0]?.[1] ?? [] };
      }),
    );
    if (from === '>' && read.every((r) => r.entries.length === 0) && !this.stopping) await delay(Math.max(10, this.config.lingerMs));
    return read;
  }

  /**
   * With REDIS_WAIT_REPLICAS, what was just read from `partitions` on `connection` is written to
   * Postgres only once every replica online, and at least that many, have it (WAIT, on the connection that read it, covers
   * everything its master had written by then). A master cut off from its replicas by a network
   * partition holds appends that were never acked and that the promoted replica on the other side
   * never got: persisted, they would come back beside the resends the other side stores. Fewer in
   * time: thrown, the entries stay pending, and they are read again after a pause.
   */
  private async onReplicas(connection: RedisClient, partitions: number[]): Promise<void> {
    const { replicas, timeoutMs } = this.config.redisWait;
    if (replicas === 0 || partitions.length === 0) return;
    // One WAIT per master: partitions on the same master share its replication offset.
    const byMaster = new Map(partitions.map((p) => [masterOfKey(connection, this.keys.eventStream(p)), p]));
    for (const p of byMaster.values()) {
      const { reached, wanted } = await waitForReplicas(connection, this.keys.eventStream(p), replicas, timeoutMs);
      if (reached < wanted) {
        this.metrics.replicaWaitTimeouts.inc();
        throw new Error(`entries of partition ${p} are on ${reached} of ${wanted} replica(s) after ${timeoutMs} ms: not persisted yet`);
      }
    }
  }

  /** Whether PERSISTER_CLAIM_INTERVAL_MS has passed since the last claim. */
  claimDue(now = Date.now()): boolean {
    return now - this.lastClaim >= this.config.claimIntervalMs;
  }

  /**
   * Takes over entries a dead consumer left pending past the idle threshold: up to a batch of each
   * partition, which are this consumer's pending entries from then on.
   */
  async claim(): Promise<PartitionEntry[]> {
    this.lastClaim = Date.now();
    const claimed: PartitionEntry[] = [];
    for (const p of partitionNumbers(this.keys)) {
      const [next, entries] = (await this.redis.xautoclaim(
        this.keys.eventStream(p),
        PERSISTER_GROUP,
        this.config.consumer,
        this.config.claimIdleMs,
        this.claimCursors[p]!,
        'COUNT',
        this.config.batchSize,
      )) as [string, StreamEntry[], string[]];
      this.claimCursors[p] = next;
      if (entries.length === 0) continue;
      await this.onReplicas(this.redis, [p]);
      this.log.info({ partition: p, count: entries.length }, 'claimed entries of a stalled consumer');
      for (const entry of entries) claimed.push({ partition: p, entry });
    }
    return claimed;
  }

  /** Acks and deletes the entries: one call of stream-ack.lua per partition (its stream is one key). */
  async ack(entries: readonly PartitionEntry[]): Promise<void> {
    const byPartition = new Map<number, string[]>();
    for (const { partition, entry } of entries) {
      const ids = byPartition.get(partition);
      if (ids) ids.push(entry[0]);
      else byPartition.set(partition, [entry[0]]);
    }
    await Promise.all([...byPartition].map(([p, ids]) => this.scripts.streamAck(p, ids)));
  }

  /**
   * Moves an entry to its partition's dead-letter stream, its fields exactly as they were, with the
   * reason, and counts its seq as accounted for (the room's dead-lettered seqs); then acks it. A
   * crash in between dead-letters it again (at least once). Returns its room and seq, if it has them.
   */
  async deadLetter(e: PartitionEntry, reason: string, code: string): Promise<{ room?: number; seq?: number }> {
    const [id, fields] = e.entry;
    await this.redis.xadd(this.keys.deadLetters(e.partition), '*', ...fields, 'error', reason, 'code', code, 'entry', id);
    const at = roomSeqOf(fields);
    if (at.room !== undefined && at.seq !== undefined) await this.redis.sadd(this.keys.roomDeadSeqs(at.room), at.seq);
    await this.ack([e]);
    return at;
  }
}
