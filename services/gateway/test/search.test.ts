import t from 'tap';
import { searchIndexedSeqs } from '@parley/db';
import { eventually, Stack } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('search finds substrings of Chinese and other text in my rooms, through an index', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1, env: { PERSISTER_SEARCH_LAG_MS: '0' } });
  const gateways = await inProcessGateways(t, stack, 2);
  const [gwA, gwB] = gateways as [NonNullable<(typeof gateways)[0]>, NonNullable<(typeof gateways)[0]>];
  const alice = stack.token('alice');
  const bob = stack.token('bob');
  const pharmacy = await stack.createGroup('alice', ['bob'], gateways[0]);
  const other = await stack.createGroup('carol', [], gateways[0]);
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

  // The persister indexes what it wrote (here without waiting for a block: no lag allowed).
  await eventually(async () => (await searchIndexedSeqs(stack.db, [pharmacy])).get(pharmacy) === 3, 20_000, 'the room indexed up to its last seq');
  t.same(
    (await search(alice, `keyword=${encodeURIComponent('药师')}`)).body.messages.map((m: { seq: number }) => m.seq),
    [2, 1],
    'the same results from the index',
  );
});
