import t from 'tap';
import { sql } from 'kysely';
import { searchMessagesQuery } from '@parley/db';
import { eventually, Stack } from '@parley/testkit';

t.test('search finds substrings of Chinese and other text in my rooms, through an index', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  const [gwA, gwB] = stack.gateways as [NonNullable<(typeof stack.gateways)[0]>, NonNullable<(typeof stack.gateways)[0]>];
  const alice = stack.token('alice');
  const bob = stack.token('bob');
  const pharmacy = await stack.createGroup('alice', ['bob']);
  const other = await stack.createGroup('carol', []);
  const send = (token: string, room: number, content: string, id: string) =>
    stack.http(gwA, 'POST', `/api/chats/${room}/messages`, token, { client_id: id, message_type: 'text', content });
  await send(bob, pharmacy, '请问药师在吗', 'm-1');
  await send(alice, pharmacy, '药师不在，明天再来', 'm-2');
  await send(alice, pharmacy, 'Hello from the PHARMACY', 'm-3');
  await send(stack.token('carol'), other, '药师 is in carol’s room only', 'm-4');
  await eventually(async () => (await stack.db.selectFrom('messages').select('seq').execute()).length === 4, 20_000, 'all persisted');

  const search = (token: string, query: string) => stack.http(gwB, 'GET', `/api/messages/search?${query}`, token);
  const found = await search(alice, `keyword=${encodeURIComponent('药师')}`);
  t.same(
    found.body.messages.map((m: { content: string }) => m.content),
    ['药师不在，明天再来', '请问药师在吗'],
    'both, newest first; not carol’s room',
  );
  t.match(found.body.messages[1], { chat_id: pharmacy, seq: 1, sender_id: 'bob' });
  t.same(
    (await search(alice, `keyword=${encodeURIComponent('问药')}`)).body.messages.map((m: { seq: number }) => m.seq),
    [1],
    'any substring, across word-like boundaries',
  );
  t.same((await search(alice, `keyword=${encodeURIComponent('药')}`)).body.messages.length, 2, 'a single character');
  t.same((await search(alice, `keyword=${encodeURIComponent('师药')}`)).body.messages, [], 'the pairs alone do not match: the substring must');
  t.same(
    (await search(bob, 'keyword=pharmacy')).body.messages.map((m: { seq: number }) => m.seq),
    [3],
    'case-insensitive',
  );
  t.same(
    (await search(bob, `keyword=${encodeURIComponent('药师')}&limit=1&skip=1`)).body.messages.map((m: { seq: number }) => m.seq),
    [1],
    'paged',
  );
  t.same((await search(bob, `keyword=${encodeURIComponent('药师')}&chat_id=${pharmacy}`)).body.messages.length, 2, 'within one room');
  t.match(await search(bob, `keyword=x&chat_id=${other}`), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  t.match(await search(bob, 'keyword='), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(await search(bob, 'keyword=%20%20'), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(await search(bob, `keyword=${'x'.repeat(101)}`), { status: 400, body: { code: 'REQUEST_INVALID' } });

  // The plan: with a realistic volume (20,000 messages in 50 rooms, the user in all of them), the
  // query is served by the messages_search index rather than a scan of the rooms' messages.
  const rooms: number[] = [];
  for (let i = 0; i < 50; i++) rooms.push(await stack.createGroup('dave', []));
  await sql`
    insert into messages (room_id, seq, id, sender_id, client_id, type, content, created_at)
    select r.id, g, gen_random_uuid(), 'dave', 'bulk-' || g, 'text',
      (array['今天天气很好', '明天见', '处方已经开好了', 'see you tomorrow', 'the order has shipped'])[1 + g % 5] || ' #' || g, now()
    from unnest(${rooms}::bigint[]) as r(id), generate_series(1, 400) as g`.execute(stack.db);
  await sql`analyze`.execute(stack.db); // as autovacuum would after such a load
  const [row] = await searchMessagesQuery(stack.db, { userId: 'dave', keyword: '药师', limit: 20, skip: 0 }).explain('json');
  const raw = (row as Record<string, unknown>)['QUERY PLAN'];
  const nodes = planNodes((typeof raw === 'string' ? JSON.parse(raw) : raw) as PlanNode[]);
  t.ok(
    nodes.some((n) => n['Index Name'] === 'messages_search'),
    'the search index serves the keyword',
    { nodes },
  );
  t.notOk(
    nodes.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'messages'),
    'messages are not scanned',
  );
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
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
