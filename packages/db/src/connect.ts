import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Kysely, PostgresDialect, type KyselyConfig, type LogEvent } from 'kysely';
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

/** Each database's pool and logging, for transactions that need the driver itself (COPY). */
const drivers = new WeakMap<Kysely<Database>, { pool: pg.Pool; log: KyselyConfig['log'] }>();

export function createDb({ url, poolSize = 10, onIdleError = () => {}, onQueryError }: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // Without a listener, a client's error would crash the process. The pool reports idle ones; a
  // client checked out but between queries (inside a transaction, say) when Postgres goes away
  // reports it as its next query's failure, and the pool drops it when released: its own 'error'
  // event needs a listener only so as not to be thrown.
  pool.on('error', onIdleError);
  pool.on('connect', (client) => client.on('error', () => {}));
  const log = onQueryError ? (event: LogEvent) => void (event.level === 'error' && onQueryError(event.error)) : undefined;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log ? { log } : {}) });
  drivers.set(db, { pool, log });
  return db;
}

/**
 * COPY ... FROM STDIN of `data`, rows in COPY's text format (one line each, columns separated by
 * tabs); resolves with the rows copied. Postgres' refusal of a row fails the whole statement.
 */
export type CopyIn = (statement: string, data: string) => Promise<number>;

/**
 * Runs `work` in one transaction, with a Kysely bound to it and COPY on the same connection (through
 * pg-copy-streams: Kysely sends statements with parameters only). Commits when `work` resolves,
 * rolls back when it throws. Only for a database made by createDb.
 */
export async function copyTransaction<T>(db: Kysely<Database>, work: (trx: Kysely<Database>, copy: CopyIn) => Promise<T>): Promise<T> {
  const driver = drivers.get(db);
  if (!driver) throw new Error('copyTransaction needs a database made by createDb');
  const client = await driver.pool.connect();
  // The connection, lent to a Kysely of its own for the transaction's other statements.
  const borrowed = { query: client.query.bind(client), release: () => {} };
  const lent = { connect: async () => borrowed, end: async () => {} };
  const trx = new Kysely<Database>({ dialect: new PostgresDialect({ pool: lent }), ...(driver.log ? { log: driver.log } : {}) });
  const copy: CopyIn = async (statement, data) => {
    const stream = client.query(copyFrom(statement));
    await pipeline(Readable.from([data]), stream);
    return stream.rowCount;
  };
  let broken: Error | undefined;
  try {
    await client.query('begin');
    const result = await work(trx, copy);
    await client.query('commit');
    return result;
  } catch (err) {
    // A connection that cannot even roll back is not given back to the pool.
    await client.query('rollback').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}
