import pg from 'pg';
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import type { Database } from './database.js';

// bigint columns (room ids, seqs) stay far below 2^53: read them as numbers, not strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DbOptions {
  url: string;
  /** Most connections this process opens. */
  poolSize?: number;
  /** Told when a connection breaks outside a query (Postgres restarted, say); the pool replaces it. */
  onIdleError?: (err: Error) => void;
  /** Told of every failed query (for an error counter); the caller still gets the error. */
  onQueryError?: (err: unknown) => void;
}

export function createDb({ url, poolSize = 10, onIdleError = () => {}, onQueryError }: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // Without a listener, a client's error would crash the process. The pool reports idle ones; a
  // client checked out but between queries (inside a transaction, say) when Postgres goes away
  // reports it as its next query's failure, and the pool drops it when released: its own 'error'
  // event needs a listener only so as not to be thrown.
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    ...(onQueryError ? { log: (event: LogEvent) => void (event.level === 'error' && onQueryError(event.error)) } : {}),
  });
}
