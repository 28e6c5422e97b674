import t from 'tap';
import { eventually, Stack, TestClient } from '@parley/testkit';
import { inProcessGateway, inProcessGateways, type InProcessGateway as Gateway } from './in-process.js';

t.test('edit, delete and recall: events in the room order, current state in history, replayed by resume', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const [gwA, gwB, gwC] = (await inProcessGateways(t, stack, 3)) as [Gateway, Gateway, Gateway];
  const alice = stack.token('alice');
  const bob = stack.token('bob');
  const roomId = await stack.createGroup('alice', ['bob'], gwA);
  const { client: bobSocket } = await TestClient.open(gwC.wsUrl, bob);
  t.teardown(() => bobSocket.close());
  const send = (token: string, content: string, id: string) =>
    stack.http(gwA, 'POST', `/api/chats/${roomId}/messages`, token, { client_id: id, message_type: 'text', content });
  const path = (seq: number | string) => `/api/chats/${roomId}/messages/${seq}`;

  await send(alice, 'see you at 3', 'a-1'); // seq 1
  await send(alice, 'the door code is 4711', 'a-2'); // seq 2

  // Edit: only the sender; an event of its own (seq 3) that members receive.
  const edit = await stack.http(gwB, 'PATCH', path(1), alice, { client_id: 'e-1', content: 'see you at 4' });
  t.match(edit, { status: 201, body: { seq: 3, duplicate: false } });
  t.match(
    await stack.http(gwB, 'PATCH', path(1), alice, { client_id: 'e-1', content: 'see you at 4' }),
    { status: 200, body: { seq: 3, duplicate: true } },
    'a retried edit happens once',
  );
  t.match(await bobSocket.next('message_edited'), { seq: 3, message_seq: 1, sender_id: 'alice', content: 'see you at 4' });
  t.match(await stack.http(gwB, 'PATCH', path(1), bob, { client_id: 'e-2', content: 'hijacked' }), { status: 403, body: { code: 'MESSAGE_NOT_SENDER' } });
  t.match(await stack.http(gwB, 'PATCH', path(1), stack.token('carol'), { client_id: 'e-3', content: 'x' }), {
    status: 403,
    body: { code: 'ROOM_NOT_MEMBER' },
  });
  t.match(await stack.http(gwB, 'PATCH', path(99), alice, { client_id: 'e-4', content: 'x' }), { status: 404, body: { code: 'MESSAGE_NOT_FOUND' } });
  t.match(
    await stack.http(gwB, 'PATCH', path(3), alice, { client_id: 'e-5', content: 'x' }),
    { status: 404, body: { code: 'MESSAGE_NOT_FOUND' } },
    'an edit event is not a message',
  );
  t.match(await stack.http(gwB, 'PATCH', path(1), alice, { client_id: 'e-6', content: '' }), { status: 400, body: { code: 'REQUEST_INVALID' } });

  // Recall: the sender, within the window; everyone gets the deletion; retries are answered once.
  const recall = await stack.http(gwB, 'POST', `${path(2)}/recall`, alice);
  t.match(recall, { status: 201, body: { seq: 4 } });
  t.match(await stack.http(gwB, 'POST', `${path(2)}/recall`, alice), { status: 200, body: { seq: 4, duplicate: true } });
  t.match(await bobSocket.next('message_deleted'), { seq: 4, message_seq: 2, sender_id: 'alice', recalled: true });
  t.match(await stack.http(gwB, 'PATCH', path(2), alice, { client_id: 'e-7', content: 'undo' }), { status: 409, body: { code: 'MESSAGE_DELETED' } });
  t.match(await stack.http(gwB, 'DELETE', path(2), alice), { status: 409, body: { code: 'MESSAGE_DELETED' } });
  const late = await inProcessGateway(t, stack, 'no-recall', { RECALL_WINDOW_SECONDS: '0' });
  t.match(await stack.http(late, 'POST', `${path(1)}/recall`, alice), { status: 403, body: { code: 'MESSAGE_RECALL_EXPIRED' } });
  t.match(await stack.http(gwB, 'POST', `${path(1)}/recall`, bob), { status: 403, body: { code: 'MESSAGE_NOT_SENDER' } });

  // Delete: the sender or a room admin.
  await send(bob, 'oops, wrong room', 'b-1'); // seq 5
  t.match(await stack.http(gwB, 'DELETE', path(1), bob), { status: 403, body: { code: 'MESSAGE_NOT_SENDER' } }, 'a member deletes only his own');
  t.match(await stack.http(gwB, 'DELETE', path(5), alice), { status: 201, body: { seq: 6 } }, 'a room admin deletes anyone’s');
  await send(bob, 'last words', 'b-2'); // seq 7

  const expected = [
    { seq: 7, content: 'last words' },
    { seq: 5, content: '', deleted_by: 'alice', recalled: false },
    { seq: 2, content: '', deleted_by: 'alice', recalled: true },
    { seq: 1, content: 'see you at 4' },
  ];
  const history = await stack.http(gwA, 'GET', `/api/chats/${roomId}/messages`, bob);
  t.match(history.body, { head_seq: 7, messages: expected }, 'history: current state, changes folded in');
  t.ok(history.body.messages[3].edited_at && history.body.messages[2].deleted_at, 'edited_at and deleted_at are set');
  t.equal(history.body.messages[0].edited_at, undefined);
  const detail = await stack.http(gwA, 'GET', `/api/chats/${roomId}`, bob);
  t.match(
    detail,
    { status: 200, body: { last_message: { seq: 7 }, latest_messages: expected } },
    'the room detail lists messages only, in their current state',
  );

  // Resume from the start on another gateway: every event, in order, messages in their current state.
  const { client: replay } = await TestClient.open(gwA.wsUrl, bob, [{ chat_id: roomId, last_seq: 0 }]);
  t.teardown(() => replay.close());
  await replay.waitForSeq(roomId, 7);
  const replayed = replay.frames.filter((f) => 'chat_id' in f && f.chat_id === roomId && 'seq' in f).map((f) => `${f.type}:${(f as { seq: number }).seq}`);
  t.same(replayed, ['message:1', 'message:2', 'message_edited:3', 'message_deleted:4', 'message:5', 'message_deleted:6', 'message:7']);
  t.match(
    replay.frames.find((f) => f.type === 'message' && f.seq === 2),
    { content: '', recalled: true },
    'a recalled message is replayed as a tombstone',
  );

  // Once persisted, Postgres holds the same state: read with the Redis log and changes gone.
  await eventually(async () => (await stack.db.selectFrom('messages').select('seq').where('room_id', '=', roomId).execute()).length === 7, 20_000, 'persisted');
  const row = await eventually(() =>
    stack.db.selectFrom('messages').selectAll().where('room_id', '=', roomId).where('seq', '=', 2).where('deleted_at', 'is not', null).executeTakeFirst(),
  );
  t.match(row, { content: '', recalled: true, deleted_by: 'alice' });
  await stack.redis.del(stack.keys.roomLog(roomId), stack.keys.roomChanges(roomId));
  const fromPg = await stack.http(gwB, 'GET', `/api/chats/${roomId}/messages`, bob);
  t.match(fromPg.body, { messages: expected }, 'Postgres serves the same history');
  const { client: replay2 } = await TestClient.open(gwB.wsUrl, bob, [{ chat_id: roomId, last_seq: 0 }]);
  t.teardown(() => replay2.close());
  await replay2.waitForSeq(roomId, 7);
  t.same(
    replay2.frames.filter((f) => 'seq' in f && 'chat_id' in f && f.chat_id === roomId).map((f) => `${f.type}:${(f as { seq: number }).seq}`),
    replayed,
    'and the same replay',
  );
  t.match(
    replay2.frames.find((f) => f.type === 'message_edited'),
    { content: 'see you at 4' },
  );
});

t.test('forward a message to another room of mine: a copy that points at the original', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const [gwA, gwB] = (await inProcessGateways(t, stack, 2)) as [Gateway, Gateway];
  const alice = stack.token('alice');
  const from = await stack.createGroup('alice', ['bob'], gwA);
  const to = await stack.createGroup('alice', ['carol'], gwA);
  const elsewhere = await stack.createGroup('dave', [], gwA);
  const { client: carol } = await TestClient.open(gwB.wsUrl, stack.token('carol'));
  t.teardown(() => carol.close());
  await stack.http(gwA, 'POST', `/api/chats/${from}/messages`, stack.token('bob'), {
    client_id: 'b-1',
    message_type: 'image',
    content: 'https://cdn.example/x.png',
  });
  await stack.http(gwA, 'PATCH', `/api/chats/${from}/messages/1`, stack.token('bob'), { client_id: 'b-2', content: 'https://cdn.example/y.png' });
  const forward = (token: string, seq: number, chatId: number, clientId: string) =>
    stack.http(gwA, 'POST', `/api/chats/${from}/messages/${seq}/forward`, token, { client_id: clientId, chat_id: chatId });

  const ack = await forward(alice, 1, to, 'f-1');
  t.match(ack, { status: 201, body: { chat_id: to, seq: 1, duplicate: false } });
  t.match(await forward(alice, 1, to, 'f-1'), { status: 200, body: { seq: 1, duplicate: true } }, 'a retried forward happens once');
  const original = (await stack.http(gwB, 'GET', `/api/chats/${from}/messages`, alice)).body.messages.find((m: { seq: number }) => m.seq === 1);
  const copy = {
    chat_id: to,
    seq: 1,
    sender_id: 'alice',
    message_type: 'image',
    content: 'https://cdn.example/y.png',
    forwarded_from: { chat_id: from, seq: 1, id: original.id, sender_id: 'bob' },
  };
  t.match(await carol.next('message'), copy, 'the target room receives the copy, in its current text');
  t.match((await stack.http(gwB, 'GET', `/api/chats/${to}/messages`, stack.token('carol'))).body.messages, [copy], 'history shows the reference');

  // A forward of the forward still names the first original.
  const third = await stack.createGroup('carol', [], gwA);
  t.match(await stack.http(gwB, 'POST', `/api/chats/${to}/messages/1/forward`, stack.token('carol'), { client_id: 'f-2', chat_id: third }), { status: 201 });
  t.match((await stack.http(gwB, 'GET', `/api/chats/${third}/messages`, stack.token('carol'))).body.messages, [{ forwarded_from: { chat_id: from, seq: 1 } }]);

  // Refusals: the caller must belong to both rooms; system, missing and deleted messages are not forwarded.
  t.match(await forward(alice, 1, elsewhere, 'f-3'), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } }, 'not a member of the target');
  t.match(await forward(stack.token('carol'), 1, to, 'f-4'), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } }, 'not a member of the source');
  t.match(await forward(alice, 2, to, 'f-5'), { status: 404, body: { code: 'MESSAGE_NOT_FOUND' } }, 'seq 2 is the edit, not a message');
  await stack.http(gwA, 'POST', `/api/chats/${from}/participants`, alice, { user_id: 'erin' }); // seq 3, a system message
  t.match(await forward(alice, 3, to, 'f-6'), { status: 400, body: { code: 'MESSAGE_NOT_FORWARDABLE' } });
  await stack.http(gwA, 'DELETE', `/api/chats/${from}/messages/1`, alice);
  t.match(await forward(alice, 1, to, 'f-7'), { status: 409, body: { code: 'MESSAGE_DELETED' } });
  t.equal((await stack.http(gwA, 'GET', `/api/chats/${to}`, alice)).body.head_seq, 1, 'no refused forward reached the target room');

  // Postgres keeps the reference.
  const row = await eventually(() =>
    stack.db.selectFrom('messages').select('forwarded_from').where('room_id', '=', to).where('seq', '=', 1).executeTakeFirst(),
  );
  t.same(row.forwarded_from, copy.forwarded_from);
});
