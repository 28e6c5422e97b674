import t from 'tap';
import { limits } from '@parley/protocol';
import { Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('bad frames get an error frame or 1009, and the gateway serves everyone else', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { WS_MAX_FRAME_BYTES: '32768' } });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const room = await stack.createGroup('alice', ['bob'], gateways[0]);
  const { client: bob } = await TestClient.open(gw!.wsUrl, stack.token('bob'));
  t.teardown(() => bob.close());

  const alice = await TestClient.connect(gw!.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  const expectError = async (send: () => void, code: string, name: string, clientId?: string) => {
    const before = alice.frames.length;
    send();
    const frame = await alice.find((f) => f.type === 'error', 15_000, before);
    t.match(frame, { type: 'error', code }, name);
    // Every refusal of a frame that carried a usable client_id names it; others carry none.
    t.equal((frame as { client_id?: string }).client_id, clientId, `${name}: ${clientId ? `client_id ${clientId} echoed` : 'no client_id'}`);
  };
  await expectError(
    () => alice.send({ type: 'send_message', chat_id: room, client_id: 'x', message_type: 'text', content: 'hi' }),
    'FRAME_HELLO_REQUIRED',
    'a frame before hello',
    'x',
  );
  alice.send({ type: 'hello' });
  await alice.next('welcome');
  await expectError(() => alice.sendRaw('{not json'), 'FRAME_NOT_JSON', 'not JSON');
  await expectError(() => alice.sendRaw('[1,2]'), 'FRAME_NOT_JSON', 'a JSON array');
  await expectError(() => alice.sendRaw('{"type":"shout"}'), 'FRAME_UNKNOWN_TYPE', 'unknown type');
  await expectError(
    () => alice.sendRaw('{"type":"send_message","chat_id":"one","client_id":"x1","message_type":"text","content":"hi"}'),
    'FRAME_INVALID',
    'wrong field type',
    'x1',
  );
  await expectError(
    () => alice.sendRaw('{"type":"send_message","chat_id":1,"client_id":"x2","message_type":"system","content":"hi"}'),
    'FRAME_INVALID',
    'a system message from a user',
    'x2',
  );
  await expectError(
    () => alice.sendRaw('{"type":"send_message","chat_id":1,"client_id":"x3","message_type":"text","content":"hi","__proto__":{"admin":true}}'),
    'FRAME_INVALID',
    'an extra __proto__ key',
    'x3',
  );
  await expectError(
    () => alice.send({ type: 'send_message', chat_id: room, client_id: 'x4', message_type: 'text', content: 'x'.repeat(limits.contentMaxLength + 1) }),
    'FRAME_INVALID',
    'content over the limit',
    'x4',
  );
  await expectError(
    () => alice.send({ type: 'send_message', chat_id: room, client_id: 'x5', message_type: 'text', content: 'a\u0000b' }),
    'FRAME_INVALID',
    'a NUL character, which Postgres cannot store',
    'x5',
  );
  await expectError(
    () => alice.sendRaw(`{"type":"send_message","chat_id":${room},"client_id":"x6","message_type":"text","content":"x\\udfff"}`),
    'FRAME_INVALID',
    'a lone surrogate, which no UTF-8 store holds',
    'x6',
  );
  await expectError(() => alice.sendRaw('{"type":"shout","client_id":"x7"}'), 'FRAME_UNKNOWN_TYPE', 'unknown type with a client_id', 'x7');
  await expectError(
    () => alice.send({ type: 'send_message', chat_id: room, client_id: 'y'.repeat(500), message_type: 'text', content: 'hi' }),
    'FRAME_INVALID',
    'a client_id over its limit is not echoed',
  );
  await expectError(() => alice.sendRaw(Buffer.from([1, 2, 3]), true), 'FRAME_BINARY', 'a binary frame');
  await expectError(() => alice.send({ type: 'hello' }), 'FRAME_HELLO_REPEATED', 'a second hello');

  t.match(await alice.sendMessage(room, 'still here', 'ok-1'), { type: 'ack', seq: 1 }, 'the connection still serves');
  // One definition of a character (a code point) and one limit, on the socket and over REST.
  const emoji = '😀'.repeat(limits.contentMaxLength);
  t.match(await alice.sendMessage(room, emoji, 'emoji-ws'), { type: 'ack', seq: 2 }, 'the socket takes 8000 emoji (16000 UTF-16 units)');
  t.match(
    await alice.sendMessage(room, emoji + '😀', 'emoji-ws-over'),
    { type: 'error', code: 'FRAME_INVALID', client_id: 'emoji-ws-over' },
    'and refuses 8001',
  );
  const rest = (content: string) =>
    stack.http(gw!, 'POST', `/api/chats/${room}/messages`, stack.token('alice'), { client_id: `emoji-rest-${content.length}`, message_type: 'text', content });
  t.equal((await rest(emoji)).status, 201, 'REST takes the same 8000');
  t.match(await rest(emoji + '😀'), { status: 400, body: { code: 'REQUEST_INVALID' } }, 'and refuses the same 8001');
  t.match(
    await stack.http(gw!, 'PATCH', `/api/chats/${room}/messages/1`, stack.token('alice'), { client_id: 'edit-over', content: emoji + '😀' }),
    { status: 400, body: { code: 'REQUEST_INVALID' } },
    'so does an edit',
  );
  t.equal((await bob.waitForSeq(room, 1)).content, 'still here', 'other clients are served');
  await bob.waitForSeq(room, 3);

  alice.sendRaw('x'.repeat(40_000));
  t.equal((await alice.closed).code, 1009, 'an oversized frame closes with 1009');
  t.match(await bob.sendMessage(room, 'after', 'ok-2'), { type: 'ack', seq: 4 }, 'the gateway goes on serving');
  t.equal((await stack.http(gw!, 'GET', '/health/live')).status, 200);
});

t.test('a socket that never sends hello is closed with 4101', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { WS_HELLO_TIMEOUT_MS: '300' } });
  const gateways = await inProcessGateways(t, stack, 1);
  const silent = await TestClient.connect(gateways[0]!.wsUrl, stack.token('quiet'));
  t.equal((await silent.closed).code, 4101);
});
