import t from 'tap';
import { randomUUID } from 'node:crypto';
import { createDb, createGroupRoom, insertMessages, migrateToLatest, searchIndexedSeqs, searchMessages } from '@parley/db';
import { eventually, Stack, startPostgres } from '@parley/testkit';
import { SearchIndexer } from '../src/search-indexer.js';
import { sql } from 'kysely';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const blocksOf = async (roomId: number, on = db) =>
  (
    await sql<{ first_seq: string; last_seq: string }>`select first_seq, last_seq from search_blocks where room_id = ${roomId} order by last_seq`.execute(on)
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

t.test('a failing index never holds persisting back; the rooms are indexed when next written', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1, env: { PERSISTER_SEARCH_LAG_MS: '0' } });
  const gw = stack.gateways[0]!;
  const room = await stack.createGroup('alice', ['bob']);
  const send = (id: string) =>
    stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token('alice'), { client_id: id, message_type: 'text', content: `note ${id}` });
  // Every block refused, as a broken index would be.
  await sql`alter table search_blocks add constraint refuse_all check (false) not valid`.execute(stack.db);
  for (const id of ['a', 'b', 'c']) await send(id);
  await eventually(
    async () => (await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).where('content', 'like', 'note %').execute()).length === 3,
    20_000,
    'all persisted',
  );
  await eventually(async () => stack.persisters[0]!.lines.some((l) => l.includes('search indexing failed')), 20_000, 'the failure logged');
  const found = await stack.http(gw, 'GET', `/api/messages/search?keyword=note&chat_id=${room}`, stack.token('bob'));
  t.equal(found.body.messages.length, 3, 'search finds them, unindexed');

  await sql`alter table search_blocks drop constraint refuse_all`.execute(stack.db);
  const last = (await send('d')).body.seq as number;
  await eventually(async () => (await searchIndexedSeqs(stack.db, [room])).get(room) === last, 20_000, 'indexed up to the last seq');
  t.same((await blocksOf(room, stack.db))[0]!.split('–')[0], '1', 'the blocks start at the first seq: nothing was skipped');
});
