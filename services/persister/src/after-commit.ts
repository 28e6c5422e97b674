import type { NewMessage } from '@parley/db';

/**
 * Work that follows what the persister writes, beside its loop (the search indexer, the offline
 * webhook): told of each committed batch and of each advance of the rooms' watermarks. A follower
 * never holds persisting back: `committed` returns at once, and a failing `accounted` is logged and
 * left for the next advance.
 */
export interface AfterCommit {
  /** Names the follower in logs. */
  readonly name: string;
  /** A batch's rows are in Postgres. At least once: a batch replayed after a crash comes again. */
  committed?(rows: readonly NewMessage[]): void;
  /** Every seq of each room up to its value is accounted for: in Postgres, or dead-lettered. */
  accounted?(upTo: ReadonlyMap<number, number>): Promise<void>;
  /** The persister stops: finish what waits. */
  stop(): Promise<void>;
}
