import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import { Stack, TestClient } from '@parley/testkit';

t.test('REST: REST_RATE_LIMIT calls per user per window over all gateways, then 429 RATE_LIMITED; a refused call changes nothing', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const limits = { REST_RATE_LIMIT: '5', REST_RATE_WINDOW_SECONDS: '60' };
  const gw1 = await stack.addGateway('gateway1', limits);
  const gw2 = await stack.addGateway('gateway2', limits);
  const alice = stack.token('alice');
  for (const gw of [gw1, gw1, gw1, gw2, gw2]) t.equal((await stack.http(gw, 'GET', '/api/chats', alice)).status, 200);
  const rooms = await stack.db.selectFrom('rooms').select('id').execute();
  const refused = await fetch(`${gw1.url}/api/chats`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'group', name: 'one too many' }),
  });
  t.equal(refused.status, 429, 'the sixth call in the window, on either gateway: 429');
  t.match(await refused.json(), { code: 'RATE_LIMITED', message: /retry in/ });
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After');
  t.same(await stack.db.selectFrom('rooms').select('id').execute(), rooms, 'the refused call created nothing');
  t.equal((await stack.http(gw2, 'GET', '/api/chats', stack.token('bob'))).status, 200, 'another user is not affected');
  for (let i = 0; i < 10; i++) t.equal((await stack.http(gw1, 'GET', '/health/ready')).status, 200, 'health is not counted');
});

t.test('WebSocket: MESSAGE_RATE_PER_SECOND with a burst; past it each send gets RATE_LIMITED, in order, and is not stored', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gw = await stack.addGateway('gateway1', { MESSAGE_RATE_PER_SECOND: '4', MESSAGE_RATE_BURST: '5' });
  const room = await stack.createGroup('alice', ['bob'], gw);
  const { client: alice } = await TestClient.open(gw.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  for (let i = 0; i < 8; i++) alice.send({ type: 'send_message', client_id: `m${i}`, chat_id: room, message_type: 'text', content: `m${i}` });
  const answers = [];
  for (let i = 0; i < 8; i++) answers.push(await alice.find((f) => (f.type === 'ack' || f.type === 'error') && f.client_id === `m${i}`));
  t.same(
    answers.map((a) => a.type),
    ['ack', 'ack', 'ack', 'ack', 'ack', 'error', 'error', 'error'],
    'the burst of 5 goes, then refusals',
  );
  const order = alice.frames.filter((f) => f.type === 'ack' || f.type === 'error').map((f) => (f as { client_id: string }).client_id);
  t.same(order, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'], 'answered in the order sent');
  const refusal = answers[5] as { code: string; message: string; retry_after_ms: number };
  t.match(refusal, { code: 'RATE_LIMITED', message: /retry in \d+ ms/, retry_after_ms: Number });
  t.equal(refusal.message, `Too many messages; retry in ${refusal.retry_after_ms} ms`, 'the wait, for people and for programs');
  t.match(await alice.sendMessage(room, 'probe', 'probe'), { type: 'error', code: 'RATE_LIMITED' }, 'still limited right after');

  await delay(Number(/retry in (\d+) ms/.exec(refusal.message)![1]) + 300);
  t.match(await alice.sendMessage(room, 'later', 'later'), { type: 'ack', seq: 6 }, 'after the wait it names, a send goes (seq 6: nothing refused was stored)');
  const { client: bob } = await TestClient.open(gw.wsUrl, stack.token('bob'));
  t.teardown(() => bob.close());
  t.match(await bob.sendMessage(room, 'hi', 'b1'), { type: 'ack' }, 'another user has a bucket of their own');
});
