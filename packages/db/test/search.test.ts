import t from 'tap';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import {
  applyMessageChanges,
  createDb,
  createGroupRoom,
  indexSearch,
  insertMessages,
  migrateToLatest,
  searchIndexedSeqs,
  searchMessages,
  searchMessagesQuery,
  type NewMessage,
} from '@parley/db';
import { startPostgres } from '@parley/testkit';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

let clock = Date.parse('2026-01-01T10:00:00Z');
function row(roomId: number, seq: number, fields: Partial<NewMessage> = {}): NewMessage {
  clock += 1000;
  return {
    room_id: roomId,
    seq,
    id: randomUUID(),
    sender_id: 'alice',
    client_id: `c-${roomId}-${seq}`,
    type: 'text',
    content: '',
    created_at: new Date(clock).toISOString(),
    ...fields,
  };
}
const find = async (keyword: string, userId = 'bob', roomId?: number) =>
  (await searchMessages(db, { userId, keyword, roomId, limit: 100, skip: 0 })).map((m) => `${m.room_id}:${m.seq}`);

t.test('found in blocks and past the last block alike, exactly, newest first', async (t) => {
  const room = (await createGroupRoom(db, 'alice', { name: 'pharmacy', isPublic: false, memberIds: ['bob'] })).id;
  const other = (await createGroupRoom(db, 'carol', { name: 'other', isPublic: false, memberIds: [] })).id;
  const texts = ['请问药师在吗', '药师不在，明天再来', 'Hello from the PHARMACY', 'Привет, Мир', 'a😀b', '师药 reversed', '今天药师在', 'system notice 药师'];
  await insertMessages(db, [
    ...texts.map((content, i) => row(room, i + 1, i === 7 ? { type: 'system', sender_id: null, content } : { content })),
    row(other, 1, { sender_id: 'carol', content: '药师 in carol’s room' }),
  ]);
  t.equal(await indexSearch(db, [{ room_id: room, after: 0, upTo: 4 }], 2), 2, 'seqs 1–4 as two blocks; 5–8 not indexed yet');
  t.same(Object.fromEntries(await searchIndexedSeqs(db, [room, other])), { [room]: 4, [other]: 0 });

  t.same(await find('药师'), [`${room}:7`, `${room}:2`, `${room}:1`], 'in a block and past the last; newest first; not the system message, not carol’s room');
  t.same(await find('问药'), [`${room}:1`], 'any substring');
  t.same(await find('药'), [`${room}:7`, `${room}:6`, `${room}:2`, `${room}:1`], 'one character');
  t.same(await find('师药'), [`${room}:6`], 'a block holding both pairs’ characters does not match: the substring must');
  t.same(await find('pharmacy'), [`${room}:3`], 'case-insensitive, as Postgres lowercases');
  t.same(await find('мир'), [`${room}:4`], 'in other scripts too');
  t.same(await find('😀'), [`${room}:5`], 'a character outside the BMP');
  t.same(await find('药师', 'carol'), [`${other}:1`]);
  t.same(await find('药师', 'bob', room), [`${room}:7`, `${room}:2`, `${room}:1`], 'within one room');
  t.same(await find('药师在', 'bob'), [`${room}:7`, `${room}:1`], 'three characters');

  await indexSearch(db, [{ room_id: room, after: 4, upTo: 8 }], 64);
  await indexSearch(db, [{ room_id: room, after: 0, upTo: 8 }], 3);
  t.same(await find('药'), [`${room}:7`, `${room}:6`, `${room}:2`, `${room}:1`], 'all indexed, some twice (as two persisters racing would): each once');
});

t.test('an edit is searched by its text, a deletion removes the message from results', async (t) => {
  const room = (await createGroupRoom(db, 'alice', { name: 'edits', isPublic: false, memberIds: ['bob'] })).id;
  await insertMessages(db, [row(room, 1, { content: 'see you at three' }), row(room, 2, { content: 'bring the prescription' })]);
  await indexSearch(db, [{ room_id: room, after: 0, upTo: 2 }], 64);
  await insertMessages(db, [
    row(room, 3, { kind: 'edit', target_seq: 1, type: 'edit', content: 'see you at four' }),
    row(room, 4, { kind: 'delete', target_seq: 2, type: 'delete', content: '' }),
  ]);
  await applyMessageChanges(db, [
    { room_id: room, seq: 1 },
    { room_id: room, seq: 2 },
  ]);
  const inRoom = (k: string) => find(k, 'bob', room);
  t.same(await inRoom('four'), [`${room}:1`], 'the edit’s text finds the message it edited (edit not indexed yet)');
  t.same(await inRoom('three'), [], 'the text it replaced no longer does, though its block holds it');
  t.same(await inRoom('prescription'), [], 'a deleted message is not found');
  await indexSearch(db, [{ room_id: room, after: 2, upTo: 4 }], 64);
  t.same(await inRoom('four'), [`${room}:1`], 'the same with the edit in a block');
  t.same(await inRoom('see you'), [`${room}:1`], 'once, though its text and its edit’s both hold the keyword');
});

t.test('the same results as reading every message, whatever part is indexed', async (t) => {
  // A small alphabet, so that blocks hold most characters and pairs and the check inside them decides.
  const alphabet = [...'药师在吗明天abAB😀 '];
  let seed = 7; // mulberry32: the same texts and keywords every run
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const text = (length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
  const rooms: number[] = [];
  for (let r = 0; r < 4; r++) rooms.push((await createGroupRoom(db, 'alice', { name: `mixed ${r}`, isPublic: false, memberIds: ['dave'] })).id);
  const rows = rooms.flatMap((room) => Array.from({ length: 60 }, (_, i) => row(room, i + 1, { content: text(3 + random(12)) })));
  await insertMessages(db, rows);
  // Room 0 unindexed, room 1 wholly, rooms 2 and 3 in part, in blocks of different sizes.
  await indexSearch(
    db,
    [
      { room_id: rooms[1]!, after: 0, upTo: 60 },
      { room_id: rooms[2]!, after: 0, upTo: 17 },
      { room_id: rooms[3]!, after: 0, upTo: 59 },
    ],
    8,
  );
  const keywords = [...alphabet, ...Array.from({ length: 60 }, () => text(2 + random(3)))];
  for (const keyword of keywords) {
    if (keyword.trim() === '') continue;
    const expected = await sql<{ key: string }>`
      select m.room_id || ':' || m.seq as key from messages m join room_members me on me.room_id = m.room_id and me.user_id = 'dave'
      where m.kind = 'message' and strpos(lower(m.content), lower(${keyword})) > 0
      order by m.created_at desc, m.room_id, m.seq desc`.execute(db);
    const found = (await searchMessages(db, { userId: 'dave', keyword, limit: 100, skip: 0 })).map((m) => `${m.room_id}:${m.seq}`);
    if (!t.same(found, expected.rows.map((r) => r.key).slice(0, 100), `“${keyword}”`)) break;
  }
});

t.test('a search over a realistic volume reads the blocks through their index, never every message', async (t) => {
  // 25,000 messages in 50 rooms, the user in all of them, indexed in blocks of 64 but for each
  // room's last few; and 100,000 blocks of another room's 6.4 million, as in a service that has run a while.
  const rooms: number[] = [];
  for (let i = 0; i < 50; i++) rooms.push((await createGroupRoom(db, 'erin', { name: `bulk ${i}`, isPublic: false, memberIds: [] })).id);
  await sql`
    insert into messages (room_id, seq, id, sender_id, client_id, type, content, created_at)
    select r.id, g, gen_random_uuid(), 'erin', 'bulk-' || g, 'text',
      (array['今天天气很好', '明天见', '处方已经开好了', 'see you tomorrow', 'the order has shipped'])[1 + g % 5] || ' #' || g, now()
    from unnest(${rooms}::bigint[]) as r(id), generate_series(1, 500) as g`.execute(db);
  await indexSearch(
    db,
    rooms.map((room_id) => ({ room_id, after: 0, upTo: 448 })),
    64,
  );
  const elsewhere = (await createGroupRoom(db, 'frank', { name: 'elsewhere', isPublic: false, memberIds: [] })).id;
  await sql`
    insert into search_blocks (room_id, first_seq, last_seq, terms)
    select ${elsewhere}, g * 64 - 63, g * 64, array['see', 'you', 'or', 'de', '#' || g % 10] from generate_series(1, 100000) as g`.execute(db);
  await sql`analyze`.execute(db); // as autovacuum would after such a load
  for (const keyword of ['药师', '处方', '#499']) {
    const query = searchMessagesQuery({ userId: 'erin', keyword, limit: 20, skip: 0 });
    const plan = await sql<{ 'QUERY PLAN': PlanNode[] }>`explain (format json) ${query}`.execute(db);
    const nodes = planNodes(plan.rows[0]!['QUERY PLAN']);
    const reads = nodes.filter((n) => n['Relation Name'] === 'messages');
    t.ok(
      reads.length > 0 && reads.every((n) => n['Node Type'] === 'Index Scan' && /\bseq\b/.test(n['Index Cond'] ?? '')),
      `“${keyword}”: messages are read by room and seq (a block’s, a room’s last few, one found), never all of a room’s or all`,
      { reads },
    );
    t.ok(
      nodes.some((n) => n['Index Name'] === 'search_blocks_terms'),
      `“${keyword}”: the blocks are found through their terms index`,
      { nodes },
    );
  }
  t.equal((await find('处方', 'erin')).length, 100, 'and it answers: a page of them');
  t.same(await find('药师', 'erin'), [], 'or none');
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
  Plan?: PlanNode;
}

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(plan: PlanNode[]): PlanNode[] {
  const out: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    if (n.Plan) return walk(n.Plan);
    out.push(n);
    for (const child of n.Plans ?? []) walk(child);
  };
  plan.forEach(walk);
  return out;
}
