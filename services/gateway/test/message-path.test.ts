import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { countMessages } from '@parley/db';
import { HistoryPage, registerFormats } from '@parley/protocol';
import { Stack, TestClient, eventually } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('a message sent on one socket is acked, delivered, listed in history and persisted', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const room = await stack.createGroup('alice', ['bob'], gateways[0]);
  const { client: alice, welcome } = await TestClient.open(gw!.wsUrl, stack.token('alice'));
  const { client: bob } = await TestClient.open(gw!.wsUrl, stack.token('bob'));
  t.same(welcome.chats, [{ chat_id: room, head_seq: 0, last_read_seq: 0 }]);
  t.teardown(() => Promise.all([alice.close(), bob.close()]));

  const ack = await alice.sendMessage(room, '你好, bob', 'c-1');
  t.equal(ack.type, 'ack');
  if (ack.type !== 'ack') return;
  t.equal(ack.seq, 1);
  t.match(ack.id, /^[0-9a-f-]{36}$/);
  const received = await bob.waitForSeq(room, 1);
  t.match(received, { type: 'message', seq: 1, chat_id: room, id: ack.id, sender_id: 'alice', content: '你好, bob', message_type: 'text' });

  const history = await stack.http(gw!, 'GET', `/api/chats/${room}/messages`, stack.token('bob'));
  t.equal(history.status, 200);
  t.match(history.body.messages, [{ seq: 1, id: ack.id, content: '你好, bob' }]);
  registerFormats();
  t.same(
    [...Value.Errors(HistoryPage, history.body)].map((e) => `${e.path}: ${e.message}`),
    [],
    'the page follows the HistoryPage schema exactly',
  );
  t.notOk('type' in history.body.messages[0], 'messages carry no event type');

  // Content that array literals and CSV would have to escape reaches Postgres unchanged.
  const awkward = 'he said "{a,b}" \\ NULL\n\ttab, 🙂 \\u0000 as text';
  t.match(await alice.sendMessage(room, awkward, 'c-2'), { type: 'ack', seq: 2 });
  await eventually(async () => (await countMessages(stack.db, room)) === 2, 10_000, 'messages persisted');
  // The persister acks an entry once its transaction has committed: the rows can be seen just before.
  await eventually(async () => (await stack.pendingCount()) === 0, 10_000, 'entries acked');
  t.pass('nothing is left pending once persisted');
  const stored = await stack.db.selectFrom('messages').select(['content', 'created_at']).where('room_id', '=', room).orderBy('seq').execute();
  t.same(
    stored.map((r) => r.content),
    ['你好, bob', awkward],
    'contents stored exactly',
  );

  const channel = stack.keys.roomChannel(room);
  t.equal(await stack.shardSubscribers(channel), 1, 'one sharded subscription per gateway, not per socket');
  await Promise.all([alice.close(), bob.close()]);
  await eventually(async () => (await stack.shardSubscribers(channel)) === 0, 10_000, 'unsubscribed');
  t.pass('the gateway unsubscribes once no local socket is in the room');
});
