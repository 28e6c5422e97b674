import t from 'tap';
import { HandshakeRefused, Stack, TestClient } from '@parley/testkit';

t.test('handshake and per-frame authorization', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1 });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob']);

  const refused = async (token: string | undefined, code: string, name: string) => {
    const err = await TestClient.connect(gw!.wsUrl, token).then(
      (c) => (c.close(), undefined),
      (e: unknown) => e,
    );
    t.ok(err instanceof HandshakeRefused, `${name}: refused before the upgrade`);
    if (err instanceof HandshakeRefused) {
      t.equal(err.status, 401, `${name}: 401`);
      t.equal(JSON.parse(err.body).code, code, `${name}: ${code}`);
    }
  };
  await refused(undefined, 'AUTH_TOKEN_MISSING', 'no token');
  await refused(stack.token('alice', { expiresIn: -10 }), 'AUTH_TOKEN_EXPIRED', 'expired token');
  await refused(stack.token('alice', { algorithm: 'none' }), 'AUTH_TOKEN_INVALID', 'alg none');
  await refused(stack.token('alice', { secret: 'another-secret-0123456789abcdef' }), 'AUTH_TOKEN_INVALID', 'another secret');
  await refused('not.a.jwt', 'AUTH_TOKEN_INVALID', 'garbage');

  // Browsers pass the token in the query string, under its key or an encoding of it (`%74oken` is
  // `token` too); neither, nor any other query (a search keyword), reaches a log line.
  const queryToken = stack.token('alice');
  const viaQuery = await TestClient.connect(gw!.wsUrl, queryToken, 'query');
  viaQuery.send({ type: 'hello' });
  await viaQuery.next('welcome');
  await viaQuery.close();
  const encodedToken = stack.token('alice', { claims: { name: 'encoded' } });
  const viaEncodedKey = await TestClient.connect(`${gw!.wsUrl}?%74oken=${encodedToken}`);
  viaEncodedKey.send({ type: 'hello' });
  t.equal((await viaEncodedKey.next('welcome')).user_id, 'alice', 'an encoded key is read as token');
  await viaEncodedKey.close();
  t.equal((await stack.http(gw!, 'GET', '/api/messages/search?keyword=secret-keyword-1', stack.token('alice'))).status, 200);
  // Log lines arrive on their own pipe: wait for the last request line, then look at everything before it.
  await gw!.child.waitFor((l) => l.includes('"url":"/api/messages/search"'));
  t.ok(gw!.child.lines.filter((l) => l.includes('"msg":"incoming request"') && l.includes('"url":"/ws"')).length >= 2, 'the upgrades are logged by their path');
  t.notOk(
    gw!.child.lines.some((l) => /"url":"[^"]*\?/.test(l)),
    'no request is logged with its query string',
  );
  t.notOk(
    gw!.child.lines.some((l) => l.includes(queryToken) || l.includes(encodedToken) || l.includes('secret-keyword-1')),
    'no token and no keyword in the logs',
  );

  const rest = await stack.http(gw!, 'GET', '/api/chats');
  t.equal(rest.status, 401, 'REST without a token: 401');
  t.equal(rest.body.code, 'AUTH_TOKEN_MISSING');

  // A non-member can neither send to nor read the room, and nothing is written anywhere.
  const { client: mallory, welcome } = await TestClient.open(gw!.wsUrl, stack.token('mallory'), [{ chat_id: room, last_seq: 0 }]);
  t.teardown(() => mallory.close());
  t.same(welcome.chats, [], 'a non-member is not given the room');
  const headBefore = await stack.redis.hget(stack.keys.roomMeta(room), 'seq');
  const streamBefore = await stack.streamLength();
  const refusedSend = await mallory.sendMessage(room, 'let me in', 'm-1');
  t.match(refusedSend, { type: 'error', code: 'ROOM_NOT_MEMBER', client_id: 'm-1' });
  t.equal(await stack.redis.hget(stack.keys.roomMeta(room), 'seq'), headBefore, 'room head unchanged');
  t.equal(await stack.streamLength(), streamBefore, 'event stream unchanged');
  t.equal(await stack.redis.exists(stack.keys.roomIdempotency(room, 'mallory', 'm-1')), 0, 'no idempotency record');
  t.equal((await stack.db.selectFrom('messages').select('id').where('sender_id', '=', 'mallory').execute()).length, 0, 'no row in Postgres');

  const restSend = await stack.http(gw!, 'POST', `/api/chats/${room}/messages`, stack.token('mallory'), {
    client_id: 'm-2',
    message_type: 'text',
    content: 'hi',
  });
  t.match(restSend, { status: 403, body: { code: 'ROOM_NOT_MEMBER' } }, 'a REST send by a non-member is refused');
  t.equal(await stack.streamLength(), streamBefore, 'event stream still unchanged');
  const history = await stack.http(gw!, 'GET', `/api/chats/${room}/messages`, stack.token('mallory'));
  t.equal(history.status, 403);
  t.equal(history.body.code, 'ROOM_NOT_MEMBER');

  // A member's message does not reach the non-member's socket.
  const { client: alice } = await TestClient.open(gw!.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  t.match(await alice.sendMessage(room, 'members only', 'a-1'), { type: 'ack' });
  const pong = mallory.next('pong');
  mallory.send({ type: 'ping' });
  await pong;
  t.same(mallory.messages(room), [], 'the non-member received nothing');
});
