import type { Redis } from 'ioredis';
import { connectRedis, createKeys, pairsOf } from '@parley/redis';

/** An event-stream entry Postgres refused, as the persister set it aside. */
export interface DeadLetter {
  /** Its id in the dead-letter stream (what `retry` takes). */
  id: string;
  /** Its id in the event stream it came from. */
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

function connect(redisUrl: string): Redis {
  const redis = connectRedis(redisUrl, 'parley-cli', { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  redis.on('error', () => undefined); // the failed command reports it
  return redis;
}

function deadLetterOf([id, flat]: [string, string[]]): DeadLetter {
  const all = pairsOf(flat);
  const fields = Object.fromEntries(Object.entries(all).filter(([name]) => !ADDED.includes(name)));
  const number = (v: string | undefined) => (v !== undefined && Number.isSafeInteger(Number(v)) ? Number(v) : null);
  return { id, entry: all.entry ?? '', room: number(fields.r), seq: number(fields.s), code: all.code ?? '', error: all.error ?? '', fields };
}

/** How many dead letters there are, and the oldest `count` of them. */
export async function listDeadLetters(redisUrl: string, prefix: string, count: number): Promise<{ total: number; letters: DeadLetter[] }> {
  const redis = connect(redisUrl);
  const key = createKeys(prefix).deadLetters();
  try {
    await redis.connect();
    const [total, entries] = await Promise.all([redis.xlen(key), redis.xrange(key, '-', '+', 'COUNT', count) as Promise<[string, string[]][]>]);
    return { total, letters: entries.map(deadLetterOf) };
  } finally {
    redis.disconnect();
  }
}

/**
 * Moves dead letters back into the event stream, each with its original fields, for the persisters
 * to try again (after the cause was mended: a missing row, a persister fix). One Postgres still
 * refuses comes back to the dead-letter stream under a new id. `ids` undefined: all of them.
 * Returns the ids moved; an id that is not a dead letter is an error, and nothing is moved.
 */
export async function retryDeadLetters(redisUrl: string, prefix: string, ids: string[] | undefined): Promise<string[]> {
  const redis = connect(redisUrl);
  const keys = createKeys(prefix);
  try {
    await redis.connect();
    const entries = ids
      ? await Promise.all(ids.map(async (id) => ((await redis.xrange(keys.deadLetters(), id, id)) as [string, string[]][])[0] ?? id))
      : ((await redis.xrange(keys.deadLetters(), '-', '+')) as [string, string[]][]);
    const missing = entries.filter((e): e is string => typeof e === 'string');
    if (missing.length > 0) throw new Error(`no such dead letter: ${missing.join(', ')}`);
    const moved: string[] = [];
    for (const entry of entries as [string, string[]][]) {
      const letter = deadLetterOf(entry);
      // Added and removed in one transaction: a crash never leaves an entry in both or in neither.
      await redis.multi().xadd(keys.eventStream(), '*', ...Object.entries(letter.fields).flat()).xdel(keys.deadLetters(), letter.id).exec();
      moved.push(letter.id);
    }
    return moved;
  } finally {
    redis.disconnect();
  }
}
