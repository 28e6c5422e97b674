// Persist throughput: the persister draining a pre-filled event stream into Postgres, against COPY
// of the same rows into the same table, in interleaved rounds of one run.
//   npm run persist -w @parley/bench            (ROUNDS=3, EVENTS=50000)
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import { createDb, createGroupRoom, ensureUsers, migrateToLatest, roomMemberIds } from '@parley/db';
import { createKeys, createScripts, persisterLag } from '@parley/redis';
import { encodeMessageEventBody } from '@parley/protocol';
import { eventually, startPersister, startPostgres, startRedis, TEST_JWT_SECRET } from '@parley/testkit';
import { now } from './lib/latency.js';
import { cpuSeconds } from './lib/proc-cpu.js';
import { fmt, summarize } from './lib/stats.js';

const ROOMS = 10;

export interface PersistRound {
  persisterRowsPerSecond: number;
  copyRowsPerSecond: number;
  /** CPU seconds during the drain: the persister process, Postgres, Redis. */
  cpu: { persister: number; postgres: number; redis: number };
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
    for (const room of rooms) await scripts.roomMembersFill(room, '', 3600, await roomMemberIds(db, room));

    const results: PersistRound[] = [];
    for (let round = 0; round < rounds; round++) {
      // Fill the stream through the real append script, as gateways do.
      await sql`truncate messages`.execute(db);
      const csv: string[] = [];
      const appends: Promise<unknown>[] = [];
      for (let i = 0; i < events; i++) {
        const room = rooms[i % ROOMS]!;
        const id = crypto.randomUUID();
        const createdAt = new Date().toISOString();
        const content = `message ${i} `.padEnd(100, '.');
        const clientId = `r${round}-${i}`;
        const eventJson = encodeMessageEventBody({
          chat_id: room,
          id,
          sender_id: 'writer',
          client_id: clientId,
          message_type: 'text',
          content,
          created_at: createdAt,
        });
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
        csv.push(`${room},${round * (events / ROOMS) + Math.floor(i / ROOMS) + 1},${id},writer,${clientId},text,${content},${createdAt}`);
      }
      await Promise.all(appends);

      const persister = await startPersister(env, 'bench-persister');
      const cpuBefore = [cpuSeconds([persister.pid]), cpuSeconds([pg.child.pid]), cpuSeconds([redisServer.child.pid])];
      const t0 = now();
      await eventually(async () => (await persisterLag(redis, keys)).streamLength === 0, 600_000, 'stream drained');
      const persisterSeconds = (now() - t0) / 1000;
      const cpuAfter = [cpuSeconds([persister.pid]), cpuSeconds([pg.child.pid]), cpuSeconds([redisServer.child.pid])];
      const cpu = { persister: cpuAfter[0]! - cpuBefore[0]!, postgres: cpuAfter[1]! - cpuBefore[1]!, redis: cpuAfter[2]! - cpuBefore[2]! };
      await persister.kill('SIGTERM');

      // The same rows, by COPY, into the same (emptied) table.
      await sql`truncate messages`.execute(db);
      const file = join(dir, 'rows.csv');
      writeFileSync(file, csv.join('\n') + '\n');
      const t1 = now();
      execFileSync('psql', [pg.url, '-qc', `\\copy messages (room_id, seq, id, sender_id, client_id, type, content, created_at) from '${file}' csv`]);
      const copySeconds = (now() - t1) / 1000;

      const row = { persisterRowsPerSecond: events / persisterSeconds, copyRowsPerSecond: events / copySeconds, cpu };
      results.push(row);
      log(
        `round ${round + 1}: persister ${fmt(row.persisterRowsPerSecond, 0)} rows/s, COPY ${fmt(row.copyRowsPerSecond, 0)} rows/s, ratio ${fmt(row.persisterRowsPerSecond / row.copyRowsPerSecond)}; ` +
          `drain CPU s: persister ${fmt(cpu.persister)}, Postgres ${fmt(cpu.postgres)}, Redis ${fmt(cpu.redis)} over ${fmt(persisterSeconds)} s`,
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
  const ratio = summarize(results.map((r) => r.persisterRowsPerSecond / r.copyRowsPerSecond));
  console.log(
    `persister / COPY: median ${fmt(ratio.median)} (${fmt(ratio.min)}–${fmt(ratio.max)}); ` +
      `persister median ${fmt(summarize(results.map((r) => r.persisterRowsPerSecond)).median, 0)} rows/s, COPY median ${fmt(summarize(results.map((r) => r.copyRowsPerSecond)).median, 0)} rows/s`,
  );
}
