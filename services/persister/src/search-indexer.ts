import { indexSearch, searchIndexedSeqs, type Database, type Kysely, type SearchRange } from '@parley/db';
import type { AfterCommit } from './after-commit.js';

export interface SearchIndexerConfig {
  /** Seqs per search block: a room is indexed once this many are waiting. */
  blockSeqs: number;
  /** Longest a room's persisted messages wait for the index when fewer than a block arrive. */
  lagMs: number;
}

/**
 * Writes the search blocks of the rooms this persister writes to, behind their persisted watermark
 * (@parley/db's indexSearch): a room is indexed once a block's worth of seqs waits, or once its
 * oldest waiting seq has waited `lagMs`, whichever comes first. Under load rooms fill whole blocks;
 * a quiet room's messages are indexed within the lag. Search never waits for it: it checks the
 * messages past a room's last block directly. A crash loses only the waiting list: the next
 * persister to write to the room indexes from its last block on.
 */
export class SearchIndexer implements AfterCommit {
  readonly name = 'search indexing';
  /** Rooms with seqs waiting: persisted contiguously up to `upTo`, waiting since `since`. */
  private readonly waiting = new Map<number, { upTo: number; since: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: SearchIndexerConfig,
  ) {}

  /** Every seq of the room up to `upTo` is in Postgres (or dead-lettered, never to be). */
  persisted(roomId: number, upTo: number, now = Date.now()): void {
    const waiting = this.waiting.get(roomId);
    this.waiting.set(roomId, { upTo: Math.max(upTo, waiting?.upTo ?? 0), since: waiting?.since ?? now });
  }

  /** The rooms' watermarks moved: indexes those whose turn it is. */
  async accounted(upTo: ReadonlyMap<number, number>): Promise<void> {
    for (const [roomId, seq] of upTo) this.persisted(roomId, seq);
    await this.run();
  }

  /** Indexes everything waiting. */
  async stop(): Promise<void> {
    await this.run({ all: true });
  }

  /** Indexes the rooms whose turn it is (all of them with `all`, as at a stop); returns the blocks written. */
  async run(options: { all?: boolean; now?: number } = {}): Promise<number> {
    if (this.waiting.size === 0) return 0;
    const now = options.now ?? Date.now();
    const indexed = await searchIndexedSeqs(this.db, [...this.waiting.keys()]);
    const ranges: SearchRange[] = [];
    for (const [roomId, { upTo, since }] of this.waiting) {
      const after = indexed.get(roomId) ?? 0;
      if (upTo <= after) this.waiting.delete(roomId);
      else if (options.all || now - since >= this.config.lagMs) {
        ranges.push({ room_id: roomId, after, upTo });
        this.waiting.delete(roomId);
      } else if (upTo - after >= this.config.blockSeqs) {
        // Whole blocks only; the rest waits for more, its own lag counted from now.
        ranges.push({ room_id: roomId, after, upTo: after + Math.floor((upTo - after) / this.config.blockSeqs) * this.config.blockSeqs });
        this.waiting.set(roomId, { upTo, since: now });
      }
    }
    return indexSearch(this.db, ranges, this.config.blockSeqs);
  }
}
