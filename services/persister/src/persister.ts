import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { PersisterMetrics } from './metrics.js';
import {
  applyPositionMarks,
  contiguousPersistedSeqs,
  insertMessages,
  touchRooms,
  type Database,
  type Kysely,
  type NewMessage,
  type PositionMark,
} from '@parley/db';
import { masterOfKey, PERSISTER_GROUP, partitionNumbers, waitForReplicas, type Keys, type Scripts, type RedisClient } from '@parley/redis';
import type { PersisterConfig } from './config.js';
import { entryOf, roomSeqOf, type StreamEntry } from './stream-entry.js';
import type { Notifier } from './offline-webhook.js';
import { SearchIndexer } from './search-indexer.js';

/** A stream entry and the partition whose event stream it was read from. */
interface PartitionEntry {
  partition: number;
  entry: StreamEntry;
}

/** Longest wait between retries while Postgres or Redis fails. */
const MAX_BACKOFF_MS = 5000;

/**
 * Postgres refused the data itself (SQLSTATE class 22 data exception, 23 integrity constraint, 54
 * program limit: a value no retry will make acceptable), as opposed to being unreachable or busy.
 */
function refusedData(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/**
 * Drains every partition's event stream into Postgres. Entries are acked (and deleted) only after the
 * transaction that inserted them commits, so a crash at any instant leaves them pending; another
 * persister claims them once idle. Inserting is idempotent, so a replayed entry changes nothing.
 */
export class Persister {
  private stopping = false;
  /** Our own pending entries may need a retry: read them (id 0) before new ones (>). */
  private ownPending = true;
  private lastClaim = 0;
  /** Each partition's XAUTOCLAIM cursor. */
  private readonly claimCursors: string[];
  private failures = 0;
  private loop: Promise<void> | undefined;
  /** Rooms persisted into since their watermark was last advanced. */
  private readonly dirtyRooms = new Set<number>();
  private lastAdvance = 0;
  private readonly search: SearchIndexer | undefined;

  constructor(
    private readonly config: PersisterConfig,
    /** For blocking reads only. */
    private readonly reader: RedisClient,
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly scripts: Scripts,
    private readonly log: Logger,
    private readonly metrics: PersisterMetrics,
    private readonly notifier?: Notifier,
  ) {
    this.claimCursors = partitionNumbers(keys).map(() => '0-0');
    this.search = config.search && new SearchIndexer(db, config.search);
  }

  async start(): Promise<void> {
    await this.createGroups();
    this.loop = this.run();
  }

  /** Creates each partition's stream and consumer group, unless they exist. */
  private async createGroups(): Promise<void> {
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

  /** Finishes the batch in hand, acks it, advances the watermarks, indexes what it wrote, and resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.advanceWatermarks();
    await this.search?.run({ all: true });
  }

  private async run(): Promise<void> {
    // The next batch is read while the current one is written, so that Redis and the persister's
    // own parsing overlap Postgres' work. Prefetched entries are pending for this consumer like
    // any read ones: a crash leaves them to be claimed, and a stop writes them before exiting.
    let prefetch: Promise<PartitionEntry[]> | undefined;
    while (!this.stopping || prefetch) {
      try {
        const entries = await (prefetch ?? this.read());
        prefetch = undefined;
        const full = entries.length >= this.config.batchSize;
        if (full && !this.stopping && !this.ownPending) prefetch = this.read();
        for (let i = 0; i < entries.length; i += this.config.batchSize) {
          const batch = entries.slice(i, i + this.config.batchSize);
          const stopTimer = this.metrics.batchSeconds.startTimer();
          await this.persist(batch);
          stopTimer();
          this.metrics.batchSize.observe(batch.length);
          this.metrics.entries.inc(batch.length);
        }
        // A short batch means the stream is nearly drained: let entries gather before the next
        // read, since every batch costs a transaction and round trips whatever its size. Acks do
        // not wait for this; only the rows' arrival in Postgres does.
        if (!full && entries.length > 0 && !this.stopping) await delay(this.config.lingerMs);
        if (Date.now() - this.lastClaim >= this.config.claimIntervalMs) await this.claim();
        if (Date.now() - this.lastAdvance >= this.config.watermarkIntervalMs) await this.advanceWatermarks();
        this.failures = 0;
      } catch (err) {
        // Whatever was read stays pending for this consumer: read it again (id 0) after a pause.
        await prefetch?.catch(() => undefined);
        prefetch = undefined;
        this.ownPending = true;
        this.failures++;
        this.metrics.failures.inc();
        const wait = Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.failures);
        this.log.error({ err: (err as Error).message, retryInMs: wait }, 'persist failed; retrying');
        // Redis lost its data (a flush, or a restart without persistence): a group is gone with
        // its stream. Make them again; what was in them is lost, and the gateways rebuild heads
        // and read positions from Postgres.
        if (String((err as Error).message).includes('NOGROUP')) await this.createGroups().catch(() => undefined);
        if (!this.stopping) await delay(wait);
      }
    }
  }

  /**
   * The next entries of every partition: this consumer's own pending ones (id 0) while there may be
   * some, else new ones. COUNT holds per stream, so a read may bring more than a batch.
   */
  private async read(): Promise<PartitionEntry[]> {
    const from = this.ownPending ? '0' : '>';
    const read = this.reader.isCluster ? await this.readEach(from) : await this.readAll(from);
    await this.onReplicas(
      this.reader,
      read.filter((r) => r.entries.length > 0).map((r) => r.partition),
    );
    if (from === '0' && read.every((r) => r.entries.length < this.config.batchSize)) this.ownPending = false;
    return read.flatMap(({ partition, entries }) => entries.map((entry) => ({ partition, entry })));
  }

  /** One XREADGROUP over every partition's stream, waiting up to PERSISTER_BLOCK_MS for new entries in any. */
  private async readAll(from: '0' | '>'): Promise<Array<{ partition: number; entries: StreamEntry[] }>> {
    const { batchSize, blockMs, consumer } = this.config;
    const streams = partitionNumbers(this.keys).map((p) => this.keys.eventStream(p));
    const ids = streams.map(() => from);
    // The command's own method, not call(): over RESP3 its reply is a map, which only the method
    // turns back into the [[stream, entries]] shape.
    const reply = (
      from === '>'
        ? await this.reader.xreadgroup('GROUP', PERSISTER_GROUP, consumer, 'COUNT', batchSize, 'BLOCK', blockMs, 'STREAMS', ...streams, ...ids)
        : await this.reader.xreadgroup('GROUP', PERSISTER_GROUP, consumer, 'COUNT', batchSize, 'STREAMS', ...streams, ...ids)
    ) as [string, StreamEntry[]][] | null;
    const partitionOf = new Map(streams.map((stream, p) => [stream, p]));
    return (reply ?? []).map(([stream, entries]) => ({ partition: partitionOf.get(stream)!, entries }));
  }

  /**
   * A cluster refuses XREADGROUP over streams of several slots, and a blocking read would hold a
   * node's connection: one read per partition instead, all sent together, and when every stream
   * is empty a pause of PERSISTER_LINGER_MS (at least 10 ms) before the next round.
   */
  private async readEach(from: '0' | '>'): Promise<Array<{ partition: number; entries: StreamEntry[] }>> {
    const { batchSize, consumer } = this.config;
    const read = await Promise.all(
      partitionNumbers(this.keys).map(async (partition) => {
        const reply = (await this.reader.xreadgroup(
          'GROUP',
          PERSISTER_GROUP,
          consumer,
          'COUNT',
          batchSize,
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
   * Postgres only once that many replicas have it (WAIT, on the connection that read it, covers
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
      const reached = await waitForReplicas(connection, this.keys.eventStream(p), replicas, timeoutMs);
      if (reached < replicas) {
        this.metrics.replicaWaitTimeouts.inc();
        throw new Error(`entries of partition ${p} are on ${reached} of ${replicas} replica(s) after ${timeoutMs} ms: not persisted yet`);
      }
    }
  }

  /** Takes over entries a dead consumer left pending past the idle threshold, in every partition. */
  private async claim(): Promise<void> {
    this.lastClaim = Date.now();
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
      if (entries.length > 0) await this.onReplicas(this.redis, [p]);
      if (entries.length > 0) {
        this.log.info({ partition: p, count: entries.length }, 'claimed entries of a stalled consumer');
        await this.persist(entries.map((entry) => ({ partition: p, entry })));
      }
    }
  }

  /**
   * Writes a batch. When Postgres refuses its data (not when it is unreachable), the batch is split
   * in halves until the refused entry stands alone; that one goes to the dead-letter stream and the
   * rest is written. One bad entry costs about 2·log2(batch) transactions, never a stalled stream.
   */
  private async persist(entries: PartitionEntry[]): Promise<void> {
    try {
      await this.write(entries);
    } catch (err) {
      if (!refusedData(err)) throw err;
      if (entries.length === 1) return this.deadLetter(entries[0]!, err as Error & { code: string; detail?: string });
      const half = Math.ceil(entries.length / 2);
      await this.persist(entries.slice(0, half));
      await this.persist(entries.slice(half));
    }
  }

  private async write(entries: PartitionEntry[]): Promise<void> {
    const rows: NewMessage[] = [];
    const marks: PositionMark[] = [];
    const malformed: PartitionEntry[] = [];
    for (const e of entries) {
      // A pending entry already deleted from the stream comes back without fields: it only needs an ack.
      if (!e.entry[1] || e.entry[1].length === 0) continue;
      const parsed = entryOf(e.entry);
      if (!parsed) malformed.push(e);
      else if ('row' in parsed) rows.push(parsed.row);
      else marks.push(parsed.mark);
    }
    // Each room's newest message time orders the conversation lists.
    const latest = new Map<number, string>();
    for (const row of rows) {
      if (row.kind !== undefined && row.kind !== 'message') continue;
      const at = String(row.created_at); // ISO 8601 in UTC: compares as text
      const seen = latest.get(row.room_id);
      if (seen === undefined || seen < at) latest.set(row.room_id, at);
    }
    const inserted = await this.db.transaction().execute(async (trx) => {
      const n = await insertMessages(trx, rows);
      await touchRooms(trx, latest);
      // A member has read what they sent (the append script moved the position in Redis too): each
      // sender's newest message of each room.
      const own = new Map<string, PositionMark>();
      for (const r of rows) {
        if (!r.sender_id || r.type === 'system') continue;
        const key = `${r.room_id} ${r.sender_id}`;
        if ((own.get(key)?.seq ?? 0) < r.seq) own.set(key, { kind: 'read', room_id: r.room_id, user_id: r.sender_id, seq: r.seq });
      }
      await applyPositionMarks(trx, [...marks, ...own.values()]);
      return n;
    });
    for (const entry of malformed) await this.deadLetter(entry, { code: 'MALFORMED', message: 'malformed stream entry' });
    // A batch replayed after a crash is notified again: at least once, like the stream itself.
    this.notifier?.enqueue(rows);
    await this.ack(entries);
    for (const row of rows) this.dirtyRooms.add(row.room_id);
    this.log.debug({ entries: entries.length, inserted }, 'batch persisted');
  }

  /** Acks and deletes the entries, in one MULTI per partition (its stream is one key). */
  private async ack(entries: PartitionEntry[]): Promise<void> {
    const byPartition = new Map<number, string[]>();
    for (const { partition, entry } of entries) byPartition.set(partition, [...(byPartition.get(partition) ?? []), entry[0]]);
    await Promise.all(
      [...byPartition].map(([p, ids]) =>
        this.redis
          .multi()
          .xack(this.keys.eventStream(p), PERSISTER_GROUP, ...ids)
          .xdel(this.keys.eventStream(p), ...ids)
          .exec(),
      ),
    );
  }

  /**
   * Sets aside an entry Postgres refused: its fields, exactly as they were, go to the dead-letter
   * stream with the error, and its seq is counted as accounted for, so that the room's watermark
   * moves past it. Then it is acked. A crash in between dead-letters it again (at least once).
   * The log line names the entry and the error, never its text (Postgres' detail may quote it).
   */
  private async deadLetter(e: PartitionEntry, error: { code: string; message: string; detail?: string }): Promise<void> {
    const [id, fields] = e.entry;
    const { code } = error;
    const reason = error.detail ? `${error.message}: ${error.detail}` : error.message;
    await this.redis.xadd(this.keys.deadLetters(e.partition), '*', ...fields, 'error', reason, 'code', code, 'entry', id);
    const { room, seq } = roomSeqOf(fields);
    if (room !== undefined && seq !== undefined) {
      await this.redis.sadd(this.keys.roomDeadSeqs(room), seq);
      this.dirtyRooms.add(room);
    }
    await this.ack([e]);
    this.metrics.deadLetters.inc();
    this.log.error({ partition: e.partition, entry: id, room, seq, code, err: error.message }, 'event dead-lettered: Postgres refused it');
  }

  /**
   * Moves the persisted watermark of each room written to since the last call to the end of its
   * contiguous run in Postgres, trimming its log, and indexes for search what is behind it. Done at
   * most every PERSISTER_WATERMARK_INTERVAL_MS rather than per batch: it costs reads of every room's
   * watermark and one query, and only bounds the room logs' length.
   */
  private async advanceWatermarks(): Promise<void> {
    this.lastAdvance = Date.now();
    const rooms = [...this.dirtyRooms];
    this.dirtyRooms.clear();
    try {
      const known = await Promise.all(
        rooms.map(async (roomId) => {
          const [persisted, dead] = await Promise.all([
            this.redis.hget(this.keys.roomMeta(roomId), 'persisted'),
            this.redis.smembers(this.keys.roomDeadSeqs(roomId)),
          ]);
          return { room_id: roomId, known: Number(persisted ?? 0), deadLettered: dead.map(Number) };
        }),
      );
      const upTo = await contiguousPersistedSeqs(this.db, known);
      await Promise.all(
        known.map(async ({ room_id: roomId, known: before, deadLettered }) => {
          const after = upTo.get(roomId) ?? before;
          if (after > before) await this.scripts.roomPersisted(roomId, after, this.config.roomLogWindow);
          const passed = deadLettered.filter((seq) => seq <= after);
          if (passed.length > 0) await this.redis.srem(this.keys.roomDeadSeqs(roomId), ...passed);
          this.search?.persisted(roomId, after);
        }),
      );
    } catch (err) {
      // Tried again at the next interval, with whatever was written meanwhile.
      for (const roomId of rooms) this.dirtyRooms.add(roomId);
      throw err;
    }
    // The index only speeds search up (search checks unindexed messages directly): its failure
    // must not hold persisting back. The rooms are indexed from their last block when next written.
    await this.search?.run().catch((err: Error) => this.log.warn({ err: err.message }, 'search indexing failed; the rooms are indexed when next written'));
  }
}
