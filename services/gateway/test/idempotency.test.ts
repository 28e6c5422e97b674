import t from 'tap';
import { Stack, TestClient, eventually } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('a resent client_id returns the original id and seq, and Postgres holds one row', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 2);
  const [gw1, gw2] = gateways;
  const room = await stack.createGroup('alice', ['bob'], gateways[0]);

  const { client: first } = await TestClient.open(gw1!.wsUrl, stack.token('alice'));
  const original = await first.sendMessage(room, 'once', 'same-key');
  const again = await first.sendMessage(room, 'once', 'same-key');
  t.match(original, { type: 'ack', seq: 1, duplicate: false });
  t.match(again, { type: 'ack', seq: 1, duplicate: true, id: (original as { id: string }).id, created_at: (original as { created_at: string }).created_at });
  await first.close();

  // After reconnecting to another gateway: still the original.
  const { client: second } = await TestClient.open(gw2!.wsUrl, stack.token('alice'), [{ chat_id: room, last_seq: 1 }]);
  t.teardown(() => second.close());
  const third = await second.sendMessage(room, 'once', 'same-key');
  t.match(third, { type: 'ack', seq: 1, duplicate: true, id: (original as { id: string }).id });

  // The key is per sender: bob's same client_id is a new message.
  const { client: bob } = await TestClient.open(gw2!.wsUrl, stack.token('bob'));
  t.teardown(() => bob.close());
  t.match(await bob.sendMessage(room, 'mine', 'same-key'), { type: 'ack', seq: 2, duplicate: false });
  const next = await second.sendMessage(room, 'twice', 'other-key');
  t.match(next, { type: 'ack', seq: 3 }, 'duplicates consumed no seq');

  // REST sends share the path and the idempotency records.
  const viaRest = await stack.http(gw1!, 'POST', `/api/chats/${room}/messages`, stack.token('alice'), {
    client_id: 'rest-key',
    message_type: 'text',
    content: 'by REST',
  });
  t.match(viaRest, { status: 201, body: { seq: 4, duplicate: false, client_id: 'rest-key' } });
  const restAgain = await stack.http(gw2!, 'POST', `/api/chats/${room}/messages`, stack.token('alice'), {
    client_id: 'rest-key',
    message_type: 'text',
    content: 'by REST',
  });
  t.match(restAgain, { status: 200, body: { seq: 4, duplicate: true, id: viaRest.body.id } }, 'a REST resend on another gateway: 200 and the original');
  t.match(await second.sendMessage(room, 'by REST', 'rest-key'), { type: 'ack', seq: 4, duplicate: true, id: viaRest.body.id }, 'and over the socket too');
  t.equal((await bob.waitForSeq(room, 4)).content, 'by REST', 'a REST send is delivered live');

  await eventually(async () => (await stack.streamLength()) === 0, 10_000, 'stream drained');
  const rows = await stack.db.selectFrom('messages').select(['seq', 'sender_id', 'client_id']).where('room_id', '=', room).orderBy('seq').execute();
  t.same(rows, [
    { seq: 1, sender_id: 'alice', client_id: 'same-key' },
    { seq: 2, sender_id: 'bob', client_id: 'same-key' },
    { seq: 3, sender_id: 'alice', client_id: 'other-key' },
    { seq: 4, sender_id: 'alice', client_id: 'rest-key' },
  ]);
  // Only alice's second socket and bob saw live events: each message once.
  t.same(
    bob.messages(room).map((m) => m.seq),
    [2, 3, 4],
  );
});

t.test('a client_id resent after its record expired is a new message, and Postgres stores both', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1, env: { PERSISTER_WATERMARK_INTERVAL_MS: '50', ROOM_LOG_WINDOW: '0' } });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const room = await stack.createGroup('alice', [], gateways[0]);
  const alice = stack.token('alice');
  const send = () => stack.http(gw!, 'POST', `/api/chats/${room}/messages`, alice, { client_id: 'late-resend', message_type: 'text', content: 'again?' });
  const first = await send();
  t.match(first, { status: 201, body: { duplicate: false } });
  // The record's TTL running out (IDEMPOTENCY_TTL_SECONDS is at least 60), or Redis losing it.
  t.equal(await stack.redis.del(stack.keys.roomIdempotency(room, 'alice', 'late-resend')), 1);
  const second = await send();
  t.match(second, { status: 201, body: { duplicate: false } }, 'past the window a resend is a new message');
  t.equal(second.body.seq, first.body.seq + 1);

  // Every acked seq is in Postgres, the watermark reaches the head, and history shows what Postgres holds.
  const head = second.body.seq as number;
  await eventually(async () => Number(await stack.redis.hget(stack.keys.roomMeta(room), 'persisted')) === head, 20_000, 'watermark at the head');
  const stored = await stack.db
    .selectFrom('messages')
    .select(['seq', 'client_id'])
    .where('room_id', '=', room)
    .where('client_id', '=', 'late-resend')
    .orderBy('seq')
    .execute();
  t.same(
    stored.map((r) => Number(r.seq)),
    [first.body.seq, second.body.seq],
    'both copies stored, each under its own seq',
  );
  const history = await stack.http(gw!, 'GET', `/api/chats/${room}/messages`, alice);
  t.same(
    history.body.messages.filter((m: { client_id: string }) => m.client_id === 'late-resend').map((m: { seq: number }) => m.seq),
    [second.body.seq, first.body.seq],
    'history: the same two',
  );

  // The same rule after Redis lost everything: the resend is a new message, stored as such.
  await stack.flushAll();
  // Until the gateway has raised the heads again (on a busy Redis Cluster that can outlast the
  // send's wait), a send is refused for now (503, retry_after_ms), and a client sends it again.
  const third = await eventually(
    async () => {
      const res = await send();
      if (res.status !== 503) return res;
      t.match(res.body, { code: 'SERVICE_UNAVAILABLE', retry_after_ms: Number }, 'refused for now, with when to retry');
      return undefined;
    },
    20_000,
    'a send taken after FLUSHALL',
  );
  // (A send refused for now may still have been appended when Redis answered: its resend is then
  // the duplicate of it, with the same seq.)
  t.match(third, { body: { seq: head + 1 } }, "after FLUSHALL: a new seq past Postgres' head");
  t.equal(third.status, third.body.duplicate ? 200 : 201);
  await eventually(async () => Number(await stack.redis.hget(stack.keys.roomMeta(room), 'persisted')) === head + 1, 20_000, 'watermark at the new head');
  const all = await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).where('client_id', '=', 'late-resend').orderBy('seq').execute();
  t.same(
    all.map((r) => Number(r.seq)),
    [first.body.seq, second.body.seq, third.body.seq],
    'Postgres stores every acked seq',
  );
  const after = await stack.http(gw!, 'GET', `/api/chats/${room}/messages`, alice);
  t.equal(after.body.messages.filter((m: { client_id: string }) => m.client_id === 'late-resend').length, 3, 'and history shows what Postgres holds');
});
