import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AfterCommit } from './after-commit.js';
import { batchOf, type Batch, type BatchWriter } from './batch-writer.js';
import type { PersisterMetrics } from './metrics.js';
import type { PartitionEntry, StreamReader } from './stream-reader.js';
import type { Watermarks } from './watermarks.js';

/** Longest wait between retries while Postgres or Redis fails. */
const MAX_BACKOFF_MS = 5000;

/** The parts the persister's loop drives, each usable and measurable alone. */
export interface PersisterParts {
  config: { batchSize: number; lingerMs: number };
  streams: StreamReader;
  writer: BatchWriter;
  watermarks: Watermarks;
  /** Told of what is committed and accounted for (the search indexer, the offline webhook). */
  followers: readonly AfterCommit[];
  metrics: PersisterMetrics;
  log: Logger;
}

/**
 * Drains every partition's event stream into Postgres. Entries are acked (and deleted) only after the
 * transaction that inserted them commits, so a crash at any instant leaves them pending; another
 * persister claims them once idle. Inserting is idempotent, so a replayed entry changes nothing.
 */
export class Persister {
  private stopping = false;
  private failures = 0;
  private loop: Promise<void> | undefined;

  constructor(private readonly parts: PersisterParts) {}

  async start(): Promise<void> {
    await this.parts.streams.createGroups();
    this.loop = this.run();
  }

  /** Finishes the batch in hand, acks it, advances the watermarks, lets the followers finish, and resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.parts.streams.stop();
    await this.loop;
    await this.parts.watermarks.advance();
    for (const follower of this.parts.followers) await follower.stop();
  }

  private async run(): Promise<void> {
    const { config, streams, watermarks, metrics, log } = this.parts;
    // The next read is read and parsed while the current one is written, so that Redis and the
    // persister's own work overlap Postgres'. Prefetched entries are pending for this consumer like
    // any read ones: a crash leaves them to be claimed, and a stop writes them before exiting.
    let prefetch: Promise<{ batches: Batch[]; more: boolean }> | undefined;
    while (!this.stopping || prefetch) {
      try {
        const { batches, more } = await (prefetch ?? this.read());
        prefetch = undefined;
        if (more && !this.stopping && !streams.readingOwnPending) prefetch = this.read();
        await this.persist(batches);
        // A short read means the streams are nearly drained: let entries gather before the next
        // read, since every batch costs a transaction and round trips whatever its size. Acks do
        // not wait for this; only the rows' arrival in Postgres does.
        if (!more && batches.length > 0 && !this.stopping) await delay(config.lingerMs);
        if (streams.claimDue()) await this.persist(this.batches(await streams.claim()));
        if (watermarks.due()) await watermarks.advance();
        this.failures = 0;
      } catch (err) {
        // Whatever was read stays pending for this consumer: read it again (id 0) after a pause.
        await prefetch?.catch(() => undefined);
        prefetch = undefined;
        streams.rewind();
        this.failures++;
        metrics.failures.inc();
        const wait = Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.failures);
        log.error({ err: (err as Error).message, retryInMs: wait }, 'persist failed; retrying');
        // Redis lost its data (a flush, or a restart without persistence): a group is gone with
        // its stream. Make them again; what was in them is lost, and the gateways rebuild heads
        // and read positions from Postgres.
        if (String((err as Error).message).includes('NOGROUP')) await streams.createGroups().catch(() => undefined);
        if (!this.stopping) await delay(wait);
      }
    }
  }

  /** The next entries, parsed, in batches of at most PERSISTER_BATCH_SIZE; `more` when the streams may hold more. */
  private async read(): Promise<{ batches: Batch[]; more: boolean }> {
    const { entries, more } = await this.parts.streams.read();
    return { batches: this.batches(entries), more };
  }

  private batches(entries: PartitionEntry[]): Batch[] {
    const { batchSize } = this.parts.config;
    const batches: Batch[] = [];
    for (let i = 0; i < entries.length; i += batchSize) batches.push(batchOf(entries.slice(i, i + batchSize)));
    return batches;
  }

  private async persist(batches: Batch[]): Promise<void> {
    const { writer, metrics } = this.parts;
    for (const batch of batches) {
      const stopTimer = metrics.batchSeconds.startTimer();
      await writer.persist(batch);
      stopTimer();
      metrics.batchSize.observe(batch.entries.length);
      metrics.entries.inc(batch.entries.length);
    }
  }
}
