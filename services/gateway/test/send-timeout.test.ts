import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { Stack, TestClient } from '@parley/testkit';
import type { ServerFrameOf } from '@parley/protocol';
import { inProcessGateway } from './in-process.js';

/** Answers later than this past the bound are a failure: timers fire late on a busy machine, never hours late. */
const SLACK_MS = 2500;

/**
 * An in-process gateway with `env` over a stack of its own, a room of alice's (bob a member), and
 * alice's socket, past its hello's own writes; `send` writes a text frame whose content is its
 * client_id, `pauseRedis` stops Redis until the test ends (or `resumeRedis`).
 */
async function setUp(t: Test, env: Record<string, string>) {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gw = await inProcessGateway(t, stack, 'gateway', env);
  const room = await stack.createGroup('alice', ['bob'], gw);
  const alice = stack.token('alice');
  const { client } = await TestClient.open(gw.wsUrl, alice);
  t.teardown(() => client.close());
  await client.barrier();
  const send = (clientId: string) => client.send({ type: 'send_message', chat_id: room, client_id: clientId, message_type: 'text', content: clientId });
  const redisPid = stack.redisServer.child.pid;
  const resumeRedis = () => process.kill(redisPid, 'SIGCONT');
  const pauseRedis = () => {
    process.kill(redisPid, 'SIGSTOP');
    t.teardown(resumeRedis);
  };
  return { stack, gw, room, alice, client, send, pauseRedis, resumeRedis };
}

/**
 * Every send is answered within SEND_TIMEOUT_MS, whatever holds it (ARCHITECTURE I8): here a Redis
 * that is paused (SIGSTOP), with REDIS_COMMAND_TIMEOUT_MS far longer than the bound, so that only
 * the send's own deadline can answer. Frames queued behind a held one are answered on time too.
 * Once Redis is back, the same client_ids are stored once each. In-process gateways: nothing dies.
 */
t.test('sends held by a Redis that does not answer are refused within SEND_TIMEOUT_MS, on the socket and REST; resent, stored once', async (t) => {
  const { stack, gw, room, alice, client, send, pauseRedis, resumeRedis } = await setUp(t, { SEND_TIMEOUT_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '60000' });
  pauseRedis();
  const sentAt = Date.now();
  const ids = ['held-0', 'held-1', 'held-2'];
  for (const id of ids) send(id);
  const rest = stack.http(gw, 'POST', `/api/chats/${room}/messages`, alice, { client_id: 'held-rest', message_type: 'text', content: 'held-rest' });
  const answers = await Promise.all(ids.map((id) => client.find((f) => f.type !== 'message' && 'client_id' in f && f.client_id === id, 1000 + SLACK_MS)));
  const wsMs = Date.now() - sentAt;
  const restAnswer = await rest;
  const restMs = Date.now() - sentAt;
  for (const answer of answers)
    t.match(
      answer,
      { type: 'error', code: 'SERVICE_UNAVAILABLE', retry_after_ms: 1000, message: /same client_id/ },
      `${(answer as ServerFrameOf<'error'>).client_id}: refused, with when to retry`,
    );
  t.ok(wsMs >= 900 && wsMs < 1000 + SLACK_MS, `the three frames answered after ${wsMs} ms, the third as soon as the first`);
  t.match(restAnswer, { status: 503, body: { code: 'SERVICE_UNAVAILABLE', retry_after_ms: 1000 } }, 'REST: 503 with when to retry');
  t.ok(restMs < 1000 + SLACK_MS, `REST answered after ${restMs} ms`);

  resumeRedis();
  for (const id of ids) send(id);
  const acks = await Promise.all(ids.map((id) => client.find((f) => f.type === 'ack' && f.client_id === id)));
  t.same(
    acks.map((a) => a.type),
    ['ack', 'ack', 'ack'],
    'each resend acked once Redis is back',
  );
  t.match(await stack.http(gw, 'POST', `/api/chats/${room}/messages`, alice, { client_id: 'held-rest', message_type: 'text', content: 'held-rest' }), {
    status: /^20[01]$/,
  });
  const history = await stack.http<{ messages: Array<{ client_id: string }> }>(gw, 'GET', `/api/chats/${room}/messages?limit=50`, alice);
  t.same(history.body.messages.map((m) => m.client_id).sort(), [...ids, 'held-rest'].sort(), 'each stored once');
});

/**
 * A send refused before it was begun (the frame before it held the socket past its deadline) takes
 * with it the sends read behind it, which its client sent before it could know: resent in order,
 * one sender's messages keep their order. Here `first` is held by a paused Redis, `second` is
 * refused while it waits, `third` is read later; Redis is back before `third`'s own deadline.
 */
t.test('a send refused unbegun takes the sends read behind it along: resent, one sender’s messages keep their order', async (t) => {
  const { stack, gw, room, alice, client, send, pauseRedis, resumeRedis } = await setUp(t, { SEND_TIMEOUT_MS: '2000', REDIS_COMMAND_TIMEOUT_MS: '60000' });
  const answer = (clientId: string) => client.find((f) => (f.type === 'ack' || f.type === 'error') && f.client_id === clientId, 15_000);

  pauseRedis();
  send('first');
  send('second');
  await new Promise((resolve) => setTimeout(resolve, 1500)); // `third` read 1.5 s after `second`
  send('third');
  t.match(await answer('second'), { type: 'error', code: 'SERVICE_UNAVAILABLE' }, 'second: refused while first holds the socket');
  resumeRedis();
  t.match(await answer('third'), { type: 'error', code: 'SERVICE_UNAVAILABLE' }, 'third: refused with second, though its own deadline had not passed');
  for (const id of ['first', 'second', 'third']) {
    send(id);
    await client.find((f) => f.type === 'ack' && f.client_id === id);
  }
  const history = await stack.http<{ messages: Array<{ client_id: string }> }>(gw, 'GET', `/api/chats/${room}/messages?limit=50`, alice);
  t.same(
    history.body.messages
      .map((m) => m.client_id)
      .filter((id) => ['first', 'second', 'third'].includes(id))
      .reverse(),
    ['first', 'second', 'third'],
    'stored once each, in the order sent',
  );
});

/**
 * A promoted replica left without a replica of its own refuses writes (NOREPLICAS under
 * `min-replicas-to-write`): a send is refused at once, with when to retry. And a send that finds
 * its partition not reconciled with Postgres after a failover waits for that reconciliation no
 * longer than REDIS_COMMAND_TIMEOUT_MS, the bound of every wait for Redis (SEND_TIMEOUT_MS is set
 * far longer here), however long the reconciliation keeps failing: here Postgres' messages table
 * is out of reach and the partition's record gone. Both are taken once Redis and Postgres are.
 */
t.test('sends to a master that refuses writes, or to a partition that cannot be reconciled, are refused with when to retry', async (t) => {
  const { stack, room, client, send } = await setUp(t, { SEND_TIMEOUT_MS: '60000', REDIS_COMMAND_TIMEOUT_MS: '1000' });

  await stack.redis.config('SET', 'min-replicas-to-write', '1');
  t.teardown(() => stack.redis.config('SET', 'min-replicas-to-write', '0'));
  send('noreplicas');
  t.match(
    await client.find((f) => f.type === 'error' && f.client_id === 'noreplicas', SLACK_MS),
    { code: 'SERVICE_UNAVAILABLE', retry_after_ms: 1000 },
    'NOREPLICAS: refused, with when to retry',
  );
  await stack.redis.config('SET', 'min-replicas-to-write', '0');

  await sql`ALTER TABLE messages RENAME TO messages_out_of_reach`.execute(stack.db);
  t.teardown(() => sql`ALTER TABLE IF EXISTS messages_out_of_reach RENAME TO messages`.execute(stack.db));
  await stack.redis.del(stack.keys.partitionIncarnation(stack.keys.partitionOf(room)));
  const sentAt = Date.now();
  send('unreconciled');
  const answer = await client.find((f) => f.type === 'error' && f.client_id === 'unreconciled', 1000 + SLACK_MS);
  t.match(answer, { code: 'SERVICE_UNAVAILABLE', retry_after_ms: 1000 }, `unreconciled: refused after ${Date.now() - sentAt} ms, with when to retry`);

  await sql`ALTER TABLE messages_out_of_reach RENAME TO messages`.execute(stack.db);
  for (const id of ['noreplicas', 'unreconciled']) {
    send(id);
    t.match(await client.find((f) => f.type === 'ack' && f.client_id === id), { duplicate: false }, `${id}: taken once Redis and Postgres are`);
  }
});
