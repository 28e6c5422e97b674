// Persist throughput: the persister draining a pre-filled event stream into Postgres with its search
// index, the same without the index (PERSISTER_SEARCH_INDEX=false), and COPY of the same rows into
// the same table, in interleaved rounds of one run.
//   npm run persist -w @parley/bench            (ROUNDS=3, EVENTS=50000)
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { createDb, createGroupRoom, ensureUsers, memberIdsOfRooms, migrateToLatest, searchIndexedSeqs } from '@parley/db';
import { createKeys, createScripts, partitionNumbers, persisterLag } from '@parley/redis';
import { encodeMessageEventBody } from '@parley/protocol';
import { eventually, startPersister, startPostgres, startRedis, TEST_JWT_SECRET } from '@parley/testkit';
import { now } from './lib/latency.js';
import { cpuSeconds } from './lib/proc-cpu.js';
import { fmt, summarize } from './lib/stats.js';

const ROOMS = 10;
/** The persister's default PERSISTER_SEARCH_BLOCK: a room's last partial block waits for its lag. */
const SEARCH_BLOCK = 64;

/** One drain by the persister: rows/s, and CPU seconds of the persister process, Postgres and Redis. */
export interface Drain {
  rowsPerSecond: number;
  cpu: { persister: number; postgres: number; redis: number };
}

export interface PersistRound {
  /** With the search index, until every room is indexed but for its last partial block. */
  search: Drain;
  /** Without it. */
  plain: Drain;
  copyRowsPerSecond: number;
}

export async function runPersist(events: number, rounds: number, log: (l: string) => void = () => {}): Promise<PersistRound[]> {
  const [redisServer, pg] = await Promise.all([startRedis(), startPostgres()]);
  const redis = new Redis(redisServer.url);
  const db = createDb({ url: pg.url, poolSize: 2 });
  const keys = createKeys();
  const scripts = createScripts(redis, keys);
  const dir = mkdtempSync(join(tmpdir(), 'parley-persist-'));
  const env = { REDIS_URL: redisServer.url, DATABASE_URL: pg.url, JWT_SECRET: TEST_JWT_SECRET };
  try {
    await migrateToLatest(db);
    await ensureUsers(db, ['writer']);
    const rooms: number[] = [];
    for (let r = 0; r < ROOMS; r++) rooms.push((await createGroupRoom(db, 'writer', { name: `r${r}`, isPublic: false, memberIds: [] })).id);
    // The caches a gateway fills before its first append: members, and heads (new rooms: 0). And a
    // new Redis: no head to reconcile with Postgres; this server is recorded as the one the
    // partitions were reconciled on, as a gateway does at its start, or room-append refuses.
    for (const room of rooms) {
      await scripts.roomMembersFill(room, '', 3600, (await memberIdsOfRooms(db, [room])).get(room)!);
      await redis.hset(keys.roomMeta(room), 'seq', 0, 'floor', 0);
    }
    const runId = /run_id:(\w+)/.exec(await redis.info('server'))![1]!;
    await Promise.all(partitionNumbers(keys).map((p) => redis.set(keys.partitionIncarnation(p), runId)));

    const results: PersistRound[] = [];
    let filled = 0;
    // Fill the stream through the real append script, as gateways do (or, for COPY, only make the
    // same rows: seqs handed out and never persisted would hold the watermark back); returns them as CSV.
    const fill = async (append = true): Promise<string[]> => {
      const csv: string[] = [];
      const appends: Promise<unknown>[] = [];
      for (let i = 0; i < events; i++) {
        const room = rooms[i % ROOMS]!;
        const id = crypto.randomUUID();
        const createdAt = new Date().toISOString();
        const content = `message ${i} `.padEnd(100, '.');
        const clientId = `f${filled}-${i}`;
        const eventJson = encodeMessageEventBody({
          chat_id: room,
          id,
          sender_id: 'writer',
          client_id: clientId,
          message_type: 'text',
          content,
          created_at: createdAt,
        });
        if (append)
          appends.push(
            scripts.roomAppend({
              roomId: room,
              senderId: 'writer',
              mode: 'member',
              clientId,
              id,
              createdAt,
              eventJson,
              idempotencyTtlSeconds: 600,
              maxBacklog: 10_000_000,
            }),
          );
        if (appends.length >= 1000) await Promise.all(appends.splice(0));
        csv.push(`${room},${filled * (events / ROOMS) + Math.floor(i / ROOMS) + 1},${id},writer,${clientId},text,${content},${createdAt}`);
      }
      await Promise.all(appends);
      if (append) filled++;
      return csv;
    };
    const drain = async (search: boolean): Promise<Drain> => {
      await sql`truncate messages, search_blocks`.execute(db);
      // The seqs of earlier rounds, gone with the rows, count as indexed.
      const earlier = filled * (events / ROOMS);
      if (earlier > 0) await sql`insert into search_blocks select unnest(${rooms}::bigint[]), 1, ${earlier}, '{}'`.execute(db);
      await fill();
      const lastSeq = filled * (events / ROOMS);
      const persister = await startPersister({ ...env, PERSISTER_SEARCH_INDEX: String(search) }, 'bench-persister');
      const pids = [persister.pid, pg.child.pid, redisServer.child.pid];
      const before = pids.map((pid) => cpuSeconds([pid]));
      const t0 = now();
      await eventually(async () => (await persisterLag(redis, keys)).streamLength === 0, 600_000, 'stream drained');
      if (search) {
        await eventually(async () => [...(await searchIndexedSeqs(db, rooms)).values()].every((seq) => seq > lastSeq - SEARCH_BLOCK), 600_000, 'rooms indexed');
      }
      const seconds = (now() - t0) / 1000;
      const [persisterCpu, postgres, redisCpu] = pids.map((pid, i) => cpuSeconds([pid]) - before[i]!);
      await persister.kill('SIGTERM');
      return { rowsPerSecond: events / seconds, cpu: { persister: persisterCpu!, postgres: postgres!, redis: redisCpu! } };
    };
    for (let round = 0; round < rounds; round++) {
      const search = await drain(true);
      const plain = await drain(false);

      // The same rows, by COPY, into the same (emptied) table.
      await sql`truncate messages, search_blocks`.execute(db);
      const csv = await fill(false);
      const file = join(dir, 'rows.csv');
      writeFileSync(file, csv.join('\n') + '\n');
      const t1 = now();
      execFileSync('psql', [pg.url, '-qc', `\\copy messages (room_id, seq, id, sender_id, client_id, type, content, created_at) from '${file}' csv`]);
      const copyRowsPerSecond = events / ((now() - t1) / 1000);

      const row = { search, plain, copyRowsPerSecond };
      results.push(row);
      const us = (d: Drain, k: keyof Drain['cpu']) => fmt((d.cpu[k] / events) * 1e6, 1);
      log(
        `round ${round + 1}: search on ${fmt(search.rowsPerSecond, 0)} rows/s, off ${fmt(plain.rowsPerSecond, 0)} rows/s (on/off ${fmt(search.rowsPerSecond / plain.rowsPerSecond)}), ` +
          `COPY ${fmt(copyRowsPerSecond, 0)} rows/s; CPU µs per message on/off: persister ${us(search, 'persister')}/${us(plain, 'persister')}, ` +
          `Postgres ${us(search, 'postgres')}/${us(plain, 'postgres')}, Redis ${us(search, 'redis')}/${us(plain, 'redis')}`,
      );
    }
    return results;
  } finally {
    redis.disconnect();
    await db.destroy();
    await Promise.all([redisServer.stop(), pg.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const events = Number(process.env.EVENTS ?? 50_000);
  const rounds = Number(process.env.ROUNDS ?? 3);
  console.log(`persist: ${events} events in ${ROOMS} rooms, ${rounds} rounds (persister drain, then COPY of the same rows)`);
  const results = await runPersist(events, rounds, (l) => console.log(l));
  const median = (f: (r: PersistRound) => number) => fmt(summarize(results.map(f)).median, 2);
  const ratio = summarize(results.map((r) => r.search.rowsPerSecond / r.plain.rowsPerSecond));
  console.log(
    `search on / off: median ${fmt(ratio.median)} (${fmt(ratio.min)}–${fmt(ratio.max)}); on / COPY ${median((r) => r.search.rowsPerSecond / r.copyRowsPerSecond)}; ` +
      `median CPU µs per message, search on: persister ${median((r) => (r.search.cpu.persister / events) * 1e6)}, Postgres ${median((r) => (r.search.cpu.postgres / events) * 1e6)}`,
  );
}
