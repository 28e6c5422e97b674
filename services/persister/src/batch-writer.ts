import type { Logger } from 'pino';
import {
  applyPositionMarks,
  copyMessages,
  copyTransaction,
  insertMessages,
  touchRooms,
  type Database,
  type Kysely,
  type NewMessage,
  type PositionMark,
} from '@parley/db';
import type { AfterCommit } from './after-commit.js';
import type { PersisterMetrics } from './metrics.js';
import { entryOf } from './stream-entry.js';
import type { PartitionEntry, StreamReader } from './stream-reader.js';
import type { Watermarks } from './watermarks.js';

/**
 * Postgres refused the data itself (SQLSTATE class 22 data exception, 23 integrity constraint, 54
 * program limit: a value no retry will make acceptable), as opposed to being unreachable or busy.
 */
function refusedData(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/** unique_violation: a row of the batch is in Postgres already. */
function replayed(err: unknown): boolean {
  return (err as { code?: unknown })?.code === '23505';
}

/** Stream entries and what they ask of Postgres. */
export interface Batch {
  entries: PartitionEntry[];
  rows: NewMessage[];
  /** Read and delivered positions to move forward. */
  positions: PositionMark[];
  /** Each room's newest message time, which orders the conversation lists. */
  latest: Map<number, string>;
  /** Entries that cannot be read: dead-lettered. */
  malformed: PartitionEntry[];
}

/**
 * Parses the entries, and works out what their rows imply, all before the batch's transaction (the
 * persister parses the next batch while Postgres writes this one).
 */
export function batchOf(entries: PartitionEntry[]): Batch {
  const rows: NewMessage[] = [];
  const positions: PositionMark[] = [];
  const malformed: PartitionEntry[] = [];
  for (const e of entries) {
    // A pending entry already deleted from the stream comes back without fields: it only needs an ack.
    if (!e.entry[1] || e.entry[1].length === 0) continue;
    const parsed = entryOf(e.entry);
    if (!parsed) malformed.push(e);
    else if ('row' in parsed) rows.push(parsed.row);
    else positions.push(parsed.mark);
  }
  const latest = new Map<number, string>();
  // A member has read what they sent (the append script moved the position in Redis too): each
  // sender's newest message of each room.
  const own = new Map<string, PositionMark>();
  for (const r of rows) {
    if (r.kind === undefined || r.kind === 'message') {
      const at = String(r.created_at); // ISO 8601 in UTC: compares as text
      const seen = latest.get(r.room_id);
      if (seen === undefined || seen < at) latest.set(r.room_id, at);
    }
    if (!r.sender_id || r.type === 'system') continue;
    const key = `${r.room_id} ${r.sender_id}`;
    if ((own.get(key)?.seq ?? 0) < r.seq) own.set(key, { kind: 'read', room_id: r.room_id, user_id: r.sender_id, seq: r.seq });
  }
  positions.push(...own.values());
  return { entries, rows, positions, latest, malformed };
}

/**
 * Writes batches of stream entries to Postgres, one transaction each, and acks them once it
 * commits. Inserting is idempotent, so a batch replayed after a crash changes nothing.
 */
export class BatchWriter {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly streams: StreamReader,
    private readonly watermarks: Watermarks,
    private readonly followers: readonly AfterCommit[],
    private readonly metrics: PersisterMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Writes a batch. When Postgres refuses its data (not when it is unreachable), the batch is split
   * in halves until the refused entry stands alone; that one goes to the dead-letter stream and the
   * rest is written. One bad entry costs about 2·log2(batch) transactions, never a stalled stream.
   */
  async persist(batch: Batch): Promise<void> {
    try {
      await this.write(batch, 'copy').catch((err) => {
        if (!replayed(err)) throw err;
        return this.write(batch, 'insert');
      });
    } catch (err) {
      if (!refusedData(err)) throw err;
      const { entries } = batch;
      if (entries.length === 1) return this.deadLetter(entries[0]!, err as Error & { code: string; detail?: string });
      const half = Math.ceil(entries.length / 2);
      await this.persist(batchOf(entries.slice(0, half)));
      await this.persist(batchOf(entries.slice(half)));
    }
  }

  /**
   * One transaction. Rows go by COPY unless some may be there already (a batch replayed after a
   * crash or claimed from a dead consumer): then by an insert that skips them.
   */
  private async write({ entries, rows, positions, latest, malformed }: Batch, how: 'copy' | 'insert'): Promise<void> {
    const inserted = await copyTransaction(this.db, async (trx, copy) => {
      const n = how === 'copy' ? await copyMessages(trx, copy, rows) : await insertMessages(trx, rows);
      await touchRooms(trx, latest);
      await applyPositionMarks(trx, positions);
      return n;
    });
    for (const entry of malformed) await this.deadLetter(entry, { code: 'MALFORMED', message: 'malformed stream entry' });
    for (const follower of this.followers) follower.committed?.(rows);
    await this.streams.ack(entries);
    for (const row of rows) this.watermarks.written(row.room_id);
    this.log.debug({ entries: entries.length, inserted }, 'batch persisted');
  }

  /**
   * Sets aside an entry Postgres refused (StreamReader.deadLetter) so that its room's watermark
   * moves past it. The log line names the entry and the error, never its text (Postgres' detail may
   * quote it).
   */
  private async deadLetter(e: PartitionEntry, error: { code: string; message: string; detail?: string }): Promise<void> {
    const { code } = error;
    const { room, seq } = await this.streams.deadLetter(e, error.detail ? `${error.message}: ${error.detail}` : error.message, code);
    if (room !== undefined) this.watermarks.written(room);
    this.metrics.deadLetters.inc();
    this.log.error({ partition: e.partition, entry: e.entry[0], room, seq, code, err: error.message }, 'event dead-lettered: Postgres refused it');
  }
}
