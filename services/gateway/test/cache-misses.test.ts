import t from 'tap';
import { createGroupRoom } from '@parley/db';
import { Stack, TestClient } from '@parley/testkit';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { inProcessGateways } from './in-process.js';

/**
 * A Redis cache that keeps missing (here a member cache that expires the moment it is filled, as
 * one would under membership changes racing every fill) is a backend that cannot answer now: the
 * caller gets SERVICE_UNAVAILABLE with when to retry, on every path that reads through the cache
 * (history excepted, which Postgres can answer alone), never a 500. An in-process gateway: no
 * process death is involved.
 */
t.test('a cache that keeps missing is refused with SERVICE_UNAVAILABLE and retry_after, on REST and on the socket', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const config = { ...loadConfig({ ...stack.env, NODE_ID: 'cache-misses', LOG_LEVEL: 'silent', PORT: '0' }), membersCacheTtlSeconds: 0 };
  const app = await buildApp(config);
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  const room = (await createGroupRoom(stack.db, 'alice', { name: 'cold', isPublic: false, memberIds: ['bob'] })).id;
  const alice = stack.token('alice');
  const refused = { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: /kept changing while it was cached; retry/, retry_after_ms: 250 };

  for (const [method, url, payload] of [
    ['GET', `/api/chats/${room}/online`, undefined], // membership.isMember
    ['POST', `/api/chats/${room}/messages`, { client_id: 'c1', message_type: 'text', content: 'hi' }], // the append script's MEMBERS_UNCACHED
  ] as const) {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${alice}` }, ...(payload ? { payload } : {}) });
    t.equal(res.statusCode, 503, `${method} ${url}: 503`);
    t.match(res.json(), refused, 'a catalogue code, and when to retry');
    t.equal(res.headers['retry-after'], '1', 'Retry-After, in whole seconds');
  }

  // History has a source besides Redis: read from Postgres alone, it is answered.
  const history = await app.inject({ method: 'GET', url: `/api/chats/${room}/messages`, headers: { authorization: `Bearer ${alice}` } });
  t.equal(history.statusCode, 200, 'history is read from Postgres instead');

  const { client } = await TestClient.open(`ws://127.0.0.1:${address.port}/ws`, alice);
  t.teardown(() => client.close());
  client.send({ type: 'typing', chat_id: room, state: 'start' });
  t.match(await client.next('error'), { code: 'SERVICE_UNAVAILABLE', retry_after_ms: 250 }, 'a frame about the room: an error frame with retry_after_ms');
  client.send({ type: 'send_message', chat_id: room, client_id: 'c2', message_type: 'text', content: 'hi' });
  t.match(await client.next('error', (f) => f.client_id === 'c2'), { code: 'SERVICE_UNAVAILABLE', retry_after_ms: 250 }, 'a send: refused with its client_id');
  client.send({ type: 'ping' });
  await client.next('pong');
  t.pass('the socket stays open');
});

/**
 * hello caches the member sets of the user's rooms: a room's first message after a deploy, a
 * failover or an idle hour does not wait for Postgres (the tail right after a reconnect storm,
 * bench/README.md). Seen from outside: with Postgres stopped after the hellos, the first message of
 * a room created straight in Postgres (no cache filled) is still acked and delivered.
 */
t.test("hello caches its rooms' members: a room's first message needs no Postgres", async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const [gateway] = await inProcessGateways(t, stack, 1);
  const room = (await createGroupRoom(stack.db, 'alice', { name: 'cold', isPublic: false, memberIds: ['bob'] })).id;
  const { client: alice } = await TestClient.open(gateway!.wsUrl, stack.token('alice'));
  const { client: bob } = await TestClient.open(gateway!.wsUrl, stack.token('bob'));
  t.teardown(() => Promise.all([alice.close(), bob.close()]));
  await stack.pgServer.restart(async () => {
    t.match(await alice.sendMessage(room, 'first', 'c1'), { type: 'ack', seq: 1 }, 'the first message, acked with Postgres down');
    t.match(await bob.next('message'), { chat_id: room, seq: 1, content: 'first' }, 'and delivered');
  });
});

t.test('a gateway asks about a room’s member set once a minute at most, and a set dropped meanwhile is filled when needed', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const [gateway] = await inProcessGateways(t, stack, 1);
  const room = (await createGroupRoom(stack.db, 'alice', { name: 'warm', isPublic: false, memberIds: ['bob', 'carol'] })).id;
  const pttlCalls = async () => (await stack.commandCalls()).get('pttl') ?? 0;
  const { client: alice } = await TestClient.open(gateway!.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  const before = await pttlCalls();
  const { client: bob } = await TestClient.open(gateway!.wsUrl, stack.token('bob'));
  const { client: carol } = await TestClient.open(gateway!.wsUrl, stack.token('carol'));
  t.teardown(() => Promise.all([bob.close(), carol.close()]));
  t.equal(await pttlCalls(), before, "the next hellos do not ask about the room's member set again");

  // The set dropped (as Redis losing it would): the gateway still takes it as cached, and the first
  // message fills it.
  await stack.redis.del(stack.keys.roomMembers(room));
  t.match(await bob.sendMessage(room, 'still a member', 'c1'), { type: 'ack', seq: 1 });
  t.match(await carol.next('message'), { chat_id: room, seq: 1 });
});
