import type { Logger } from 'pino';
import { contiguousPersistedSeqs, type Database, type Kysely } from '@parley/db';
import type { Keys, RedisClient, Scripts } from '@parley/redis';
import type { AfterCommit } from './after-commit.js';

/**
 * The rooms' persisted watermarks: how far each room's events are all accounted for (in Postgres,
 * or dead-lettered), which is how far its Redis log may be trimmed and its search blocks written.
 * Advanced at most every PERSISTER_WATERMARK_INTERVAL_MS rather than per batch: it costs reads of
 * every room's watermark and one query, and only bounds the room logs' length.
 */
export class Watermarks {
  /** Rooms written to since their watermark was last advanced. */
  private readonly dirtyRooms = new Set<number>();
  private lastAdvance = 0;

  constructor(
    private readonly config: { watermarkIntervalMs: number; roomLogWindow: number },
    private readonly redis: RedisClient,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly scripts: Scripts,
    private readonly followers: readonly AfterCommit[],
    private readonly log: Logger,
  ) {}

  /** Something of the room was written or dead-lettered: its watermark may move at the next advance. */
  written(roomId: number): void {
    this.dirtyRooms.add(roomId);
  }

  /** Whether PERSISTER_WATERMARK_INTERVAL_MS has passed since the last advance. */
  due(now = Date.now()): boolean {
    return now - this.lastAdvance >= this.config.watermarkIntervalMs;
  }

  /**
   * Moves the watermark of each room written to since the last call to the end of its contiguous
   * run in Postgres, trimming its log, then tells the followers how far each room is accounted for.
   */
  async advance(): Promise<void> {
    this.lastAdvance = Date.now();
    const rooms = [...this.dirtyRooms];
    this.dirtyRooms.clear();
    const accounted = new Map<number, number>();
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
          accounted.set(roomId, after);
        }),
      );
    } catch (err) {
      // Tried again at the next interval, with whatever was written meanwhile.
      for (const roomId of rooms) this.dirtyRooms.add(roomId);
      throw err;
    }
    // A follower only follows: its failure must not hold persisting back. It hears of the rooms
    // again when they are next written.
    for (const follower of this.followers) {
      await follower
        .accounted?.(accounted)
        .catch((err: Error) => this.log.warn({ err: err.message }, `${follower.name} failed; its rooms are taken up again when next written`));
    }
  }
}
