import t from 'tap';
import { randomUUID } from 'node:crypto';
import { createDb, createGroupRoom, insertMessages, migrateToLatest, searchMessages } from '@parley/db';
import { startPostgres } from '@parley/testkit';
import { SearchIndexer } from '../src/search-indexer.js';
import { sql } from 'kysely';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const blocksOf = async (roomId: number) =>
  (
    await sql<{ first_seq: string; last_seq: string }>`select first_seq, last_seq from search_blocks where room_id = ${roomId} order by last_seq`.execute(db)
  ).rows.map((b) => `${b.first_seq}–${b.last_seq}`);

t.test('whole blocks as soon as they fill, the rest within the lag', async (t) => {
  const busy = (await createGroupRoom(db, 'alice', { name: 'busy', isPublic: false, memberIds: ['bob'] })).id;
  const quiet = (await createGroupRoom(db, 'alice', { name: 'quiet', isPublic: false, memberIds: ['bob'] })).id;
  const rows = (room: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      room_id: room,
      seq: i + 1,
      id: randomUUID(),
      sender_id: 'alice',
      client_id: `c-${i}`,
      type: 'text',
      content: `note ${room}-${i + 1}`,
      created_at: new Date().toISOString(),
    }));
  await insertMessages(db, [...rows(busy, 10), ...rows(quiet, 2)]);
  const indexer = new SearchIndexer(db, { blockSeqs: 4, lagMs: 1000 });

  indexer.persisted(quiet, 2, 0);
  indexer.persisted(busy, 10, 500);
  t.equal(await indexer.run({ now: 500 }), 2, 'two full blocks of the busy room; nothing of the quiet one');
  t.same(await blocksOf(busy), ['1–4', '5–8']);
  t.same(await blocksOf(quiet), []);
  t.equal(await indexer.run({ now: 999 }), 0, 'within the lag, nothing more');
  t.equal(await indexer.run({ now: 1000 }), 1, 'the quiet room once its lag is up');
  t.same(await blocksOf(quiet), ['1–2']);
  t.equal(await indexer.run({ now: 1499 }), 0, "the busy room's rest waits from when its blocks were written");
  t.equal(await indexer.run({ now: 1500 }), 1);
  t.same(await blocksOf(busy), ['1–4', '5–8', '9–10']);
  t.equal(await indexer.run({ now: 10_000 }), 0, 'nothing waits');

  // Another persister indexed further meanwhile (a partition handed over): this one starts after it.
  await insertMessages(db, rows(busy, 14).slice(10));
  const other = new SearchIndexer(db, { blockSeqs: 4, lagMs: 1000 });
  other.persisted(busy, 12, 0);
  await other.run({ all: true });
  indexer.persisted(busy, 14, 0);
  t.equal(await indexer.run({ all: true }), 1);
  t.same(await blocksOf(busy), ['1–4', '5–8', '9–10', '11–12', '13–14'], 'no seq indexed twice, none left out');
  t.equal((await searchMessages(db, { userId: 'bob', keyword: 'note', limit: 100, skip: 0 })).length, 16, 'all found');
});
