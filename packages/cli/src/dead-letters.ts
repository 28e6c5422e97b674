import { pairsOf, partitionNumbers } from '@parley/redis';
import { withRedis, type Deployment } from './deployment.js';

/** An event-stream entry Postgres refused, as the persister set it aside. */
export interface DeadLetter {
  /** `<partition>/<stream id>`: what `retry` takes. */
  id: string;
  partition: number;
  /** Its id in the partition's event stream it came from. */
  entry: string;
  room: number | null;
  seq: number | null;
  /** SQLSTATE, or MALFORMED for an entry the persister could not read. */
  code: string;
  error: string;
  /** The entry's own fields, exactly as they were in the event stream. */
  fields: Record<string, string>;
}

/** Fields the persister adds to a dead letter; the rest are the original entry's. */
const ADDED = ['error', 'code', 'entry'];

type RawEntry = [id: string, fields: string[]];

function deadLetterOf(partition: number, [id, flat]: RawEntry): DeadLetter {
  const all = pairsOf(flat);
  const fields = Object.fromEntries(Object.entries(all).filter(([name]) => !ADDED.includes(name)));
  const number = (v: string | undefined) => (v !== undefined && Number.isSafeInteger(Number(v)) ? Number(v) : null);
  return {
    id: `${partition}/${id}`,
    partition,
    entry: all.entry ?? '',
    room: number(fields.r),
    seq: number(fields.s),
    code: all.code ?? '',
    error: all.error ?? '',
    fields,
  };
}

/** The time a stream id was added at (`<ms>-<n>`), for ordering letters of several partitions. */
const addedAt = (letter: DeadLetter) => {
  const [ms, n] = letter.id
    .slice(letter.id.indexOf('/') + 1)
    .split('-')
    .map(Number);
  return ms! * 1e6 + n!;
};

/** How many dead letters there are over every partition, and the oldest `count` of them. */
export function listDeadLetters(deployment: Deployment, count: number): Promise<{ total: number; letters: DeadLetter[] }> {
  return withRedis(deployment, async (redis, keys) => {
    const perPartition = await Promise.all(
      partitionNumbers(keys).map(async (p) => {
        const key = keys.deadLetters(p);
        const [total, entries] = await Promise.all([redis.xlen(key), redis.xrange(key, '-', '+', 'COUNT', count) as Promise<RawEntry[]>]);
        return { total, letters: entries.map((e) => deadLetterOf(p, e)) };
      }),
    );
    const letters = perPartition
      .flatMap((p) => p.letters)
      .sort((a, b) => addedAt(a) - addedAt(b))
      .slice(0, count);
    return { total: perPartition.reduce((sum, p) => sum + p.total, 0), letters };
  });
}

/**
 * Moves dead letters back into their partition's event stream, each with its original fields, for
 * the persisters to try again (after the cause was mended: a missing row, a persister fix). One
 * Postgres still refuses comes back to the dead-letter stream under a new id. `ids` undefined: all
 * of them. Returns the ids moved; an id that is not a dead letter is an error, and nothing is moved.
 */
export function retryDeadLetters(deployment: Deployment, ids: string[] | undefined): Promise<string[]> {
  return withRedis(deployment, async (redis, keys) => {
    const partitions = partitionNumbers(keys);
    const found = ids
      ? await Promise.all(
          ids.map(async (id) => {
            const [p, streamId] = [Number(id.slice(0, id.indexOf('/'))), id.slice(id.indexOf('/') + 1)];
            if (!id.includes('/') || !partitions.includes(p)) return id;
            const entry = ((await redis.xrange(keys.deadLetters(p), streamId, streamId)) as RawEntry[])[0];
            return entry ? deadLetterOf(p, entry) : id;
          }),
        )
      : (
          await Promise.all(partitions.map(async (p) => ((await redis.xrange(keys.deadLetters(p), '-', '+')) as RawEntry[]).map((e) => deadLetterOf(p, e))))
        ).flat();
    const missing = found.filter((e): e is string => typeof e === 'string');
    if (missing.length > 0) throw new Error(`no such dead letter: ${missing.join(', ')}`);
    const moved: string[] = [];
    for (const letter of found as DeadLetter[]) {
      // Added and removed in one transaction (both streams are under the partition's tag): a crash
      // never leaves an entry in both or in neither.
      const streamId = letter.id.slice(letter.id.indexOf('/') + 1);
      await redis
        .multi()
        .xadd(keys.eventStream(letter.partition), '*', ...Object.entries(letter.fields).flat())
        .xdel(keys.deadLetters(letter.partition), streamId)
        .exec();
      moved.push(letter.id);
    }
    return moved;
  });
}
