import type { GatewayCore } from '../core.js';
import { positionsOf } from '@parley/db';
import { appendStatusError, positionField } from '@parley/redis';
import { readThrough } from './read-through.js';

/**
 * What a script answers when a cache it reads is cold, or its server not yet reconciled with
 * Postgres (redis-recovery.ts); each has one fill.
 */
type CacheMiss = 'MEMBERS_UNCACHED' | 'HEAD_UNKNOWN' | 'READS_UNCACHED' | 'UNRECONCILED';
const CACHE_MISSES: readonly string[] = ['MEMBERS_UNCACHED', 'HEAD_UNKNOWN', 'READS_UNCACHED', 'UNRECONCILED'] satisfies CacheMiss[];

/**
 * The read-through rule (read-through.ts) over Parley's scripts: `call` runs (once the heads are
 * known to be no lower than Postgres', see redis-recovery.ts); on a cache miss that cache is filled
 * and it runs again. Answers in `accepted` resolve; any other refusal becomes its protocol error
 * (appendStatusError).
 */
export async function withFilledCaches<R extends { status: string }, A extends R['status']>(
  core: GatewayCore,
  scope: { roomId: number; userId?: string },
  accepted: readonly A[],
  call: () => Promise<R>,
): Promise<Extract<R, { status: A }>> {
  let miss: CacheMiss | undefined;
  return readThrough(
    'the room',
    async () => {
      await core.redisRecovery.ready();
      const result = await call();
      if ((accepted as readonly string[]).includes(result.status)) return result as Extract<R, { status: A }>;
      if (!CACHE_MISSES.includes(result.status)) throw appendStatusError(result.status as Parameters<typeof appendStatusError>[0]);
      miss = result.status as CacheMiss;
      return undefined;
    },
    () => fill(core, miss!, scope),
  );
}

function fill(core: GatewayCore, miss: CacheMiss, { roomId, userId }: { roomId: number; userId?: string }): Promise<unknown> {
  switch (miss) {
    case 'MEMBERS_UNCACHED':
      return core.membership.fill([roomId]);
    case 'HEAD_UNKNOWN':
      return core.roomEvents.heads([roomId]);
    case 'UNRECONCILED':
      return core.redisRecovery.recheck();
    case 'READS_UNCACHED':
      if (userId === undefined) throw new Error('READS_UNCACHED without a user');
      return fillPositions(core, userId);
  }
}

/** Caches the user's read and delivered positions of every room from Postgres. */
export async function fillPositions(core: GatewayCore, userId: string): Promise<void> {
  const rows = await positionsOf(core.db, userId);
  await core.scripts.userPositionsFill(
    userId,
    rows.flatMap(
      (r) =>
        [
          [positionField('read', r.roomId), r.read],
          [positionField('delivered', r.roomId), r.delivered],
        ] as Array<[string, number]>,
    ),
  );
}
