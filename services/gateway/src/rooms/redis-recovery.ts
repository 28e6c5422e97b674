import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { persistedHeads, type Database, type Kysely } from '@parley/db';
import { ParleyError } from '@parley/protocol';
import type { Keys, Scripts } from '@parley/redis';

const RETRY_MS = 500;

/**
 * Keeps room heads ahead of Postgres across Redis restarts. Under `appendfsync everysec` a machine
 * crash can cost the AOF its last second of writes while the persister had already written some of
 * those events to Postgres: Redis would come back with a head below seqs Postgres holds, and new
 * events would reuse them. So each time this node's command connection becomes ready, it compares
 * Redis' run_id with the one recorded at the last reconciliation; on a new one (Redis restarted, or
 * first start) it raises every room head in Redis to Postgres' highest seq (room-reconcile.lua)
 * before anything reads a head or appends. Every node does so after a restart, since each one's
 * connection broke; the work is idempotent, and whichever node finishes first records the run_id.
 */
export class RedisRecovery {
  private gate: Promise<void>;
  private open: (() => void) | undefined;
  private runId = '';

  constructor(
    /** How long a caller waits for the heads before it is refused with SERVICE_UNAVAILABLE. */
    private readonly waitMs: number,
    private readonly redis: Redis,
    private readonly db: Kysely<Database>,
    private readonly keys: Keys,
    private readonly scripts: Scripts,
    private readonly log: FastifyBaseLogger,
  ) {
    this.gate = new Promise((resolve) => (this.open = resolve));
    redis.on('close', () => {
      if (!this.open) this.gate = new Promise((resolve) => (this.open = resolve));
    });
    redis.on('ready', () => void this.check());
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
   * The Redis incarnation (its run_id) whose heads are in force: a client tells it back on resume,
   * so that seqs it received from an earlier one above a room's floor are known to be suspect.
   */
  epoch(): string {
    return this.runId;
  }

  private async check(): Promise<void> {
    for (;;) {
      try {
        const runId = /run_id:(\w+)/.exec(await this.redis.info('server'))![1]!;
        if ((await this.redis.get(this.keys.incarnation())) !== runId) await this.reconcile(runId);
        this.runId = runId;
        break;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'reconciling room heads after a Redis restart failed; retrying');
        if (this.redis.status !== 'ready') return; // the next 'ready' checks again
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    const open = this.open;
    this.open = undefined;
    open?.();
  }

  private async reconcile(runId: string): Promise<void> {
    const pattern = this.keys.roomMeta(0).replace(/[*?[\]\\]/g, '\\$&').replace('{room:0}', '{room:*}');
    const idOf = new RegExp(`\\{room:(\\d+)\\}:meta$`);
    let rooms = 0;
    const raised: Array<{ roomId: number; from: number; to: number }> = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      const ids = found.map((k) => Number(idOf.exec(k)?.[1])).filter((id) => Number.isSafeInteger(id));
      rooms += ids.length;
      const persisted = await persistedHeads(this.db, ids);
      // One batch's scripts go out together on the connection, not a round trip per room.
      const befores = await Promise.all(ids.map((roomId) => this.scripts.roomReconcile(roomId, persisted.get(roomId) ?? 0)));
      befores.forEach((before, i) => {
        const head = persisted.get(ids[i]!) ?? 0;
        if (before >= 0 && before < head) raised.push({ roomId: ids[i]!, from: before, to: head });
      });
    } while (cursor !== '0');
    await this.redis.set(this.keys.incarnation(), runId);
    if (raised.length > 0) this.log.warn({ rooms, raised: raised.slice(0, 20), raisedCount: raised.length }, 'Redis lost acked events: room heads raised to Postgres');
    else this.log.info({ rooms }, 'room heads reconciled with a new Redis');
  }
}
