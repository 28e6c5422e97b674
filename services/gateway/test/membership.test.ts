import t from 'tap';
import { eventually, Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('joining, adding, promoting, removing and leaving, each a system message in the room order', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 3);
  const [gwA, gwB, gwC] = gateways as [NonNullable<(typeof gateways)[0]>, NonNullable<(typeof gateways)[0]>, NonNullable<(typeof gateways)[0]>];
  const tokens = Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => [u, stack.token(u)])) as Record<string, string>;

  const lobby = await stack.http(gwA, 'POST', '/api/chats', tokens.alice, { type: 'group', name: 'lobby', is_public: true });
  t.match(lobby, { status: 201, body: { is_public: true, is_admin: true, member_count: 1 } });
  const roomId = lobby.body.id as number;
  const { client: alice } = await TestClient.open(gwA.wsUrl, tokens.alice!);
  t.teardown(() => alice.close());

  // bob's socket on C is open before he joins through B: it starts receiving at his system message.
  const { client: bob } = await TestClient.open(gwC.wsUrl, tokens.bob!);
  t.teardown(() => bob.close());
  const joined = await stack.http(gwB, 'POST', `/api/chats/${roomId}/join`, tokens.bob);
  t.match(joined, { status: 201, body: { chat_id: roomId, user_id: 'bob', role: 'member' } });
  t.match(await stack.http(gwB, 'POST', `/api/chats/${roomId}/join`, tokens.bob), { status: 200 }, 'joining again changes nothing');
  const joinedMsg = await bob.waitForSeq(roomId, 1);
  t.match(joinedMsg, { seq: 1, message_type: 'system', sender_id: 'bob', system: { event: 'member_joined', user_id: 'bob' } });
  t.match(await alice.waitForSeq(roomId, 1), { system: { event: 'member_joined' } }, 'members see the join in order');
  t.equal((await bob.sendMessage(roomId, 'hi all', 'b-1')).type, 'ack', 'a joined member sends at once');

  // A private room is joined only by invitation.
  const priv = await stack.http(gwA, 'POST', '/api/chats', tokens.alice, { type: 'group', name: 'staff', is_public: false });
  t.match(await stack.http(gwB, 'POST', `/api/chats/${priv.body.id}/join`, tokens.carol), { status: 403, body: { code: 'ROOM_PRIVATE' } });
  t.match(await stack.http(gwB, 'POST', '/api/chats/999999/join', tokens.carol), { status: 404, body: { code: 'ROOM_NOT_FOUND' } });

  // Admin adds carol and dave; carol's socket is on A, dave's too (the same gateway, to know when A has relayed).
  const { client: carol } = await TestClient.open(gwA.wsUrl, tokens.carol!);
  t.teardown(() => carol.close());
  const { client: dave } = await TestClient.open(gwA.wsUrl, tokens.dave!);
  t.teardown(() => dave.close());
  t.match(await stack.http(gwB, 'POST', `/api/chats/${roomId}/participants`, tokens.bob, { user_id: 'carol' }), {
    status: 403,
    body: { code: 'ROOM_NOT_ADMIN' },
  });
  t.match(await stack.http(gwB, 'POST', `/api/chats/${roomId}/participants`, tokens.alice, { user_id: 'carol' }), { status: 201 });
  t.match(await stack.http(gwB, 'POST', `/api/chats/${roomId}/participants`, tokens.alice, { user_id: 'dave' }), { status: 201 });
  t.match(await carol.next('message', (m) => m.chat_id === roomId && m.system?.event === 'member_added'), {
    sender_id: 'alice',
    system: { user_id: 'carol', actor_id: 'alice' },
  });

  // Promotion: bob becomes an admin, and may then add; he may not remove or demote the creator.
  t.match(await stack.http(gwC, 'PATCH', `/api/chats/${roomId}/participants/bob`, tokens.carol, { role: 'admin' }), {
    status: 403,
    body: { code: 'ROOM_NOT_ADMIN' },
  });
  t.match(await stack.http(gwC, 'PATCH', `/api/chats/${roomId}/participants/bob`, tokens.alice, { role: 'admin' }), { status: 200, body: { role: 'admin' } });
  t.match(await bob.next('message', (m) => m.system?.event === 'member_promoted'), { system: { user_id: 'bob', actor_id: 'alice' } });
  t.match(await stack.http(gwC, 'PATCH', `/api/chats/${roomId}/participants/alice`, tokens.bob, { role: 'member' }), {
    status: 403,
    body: { code: 'ROOM_NOT_CREATOR' },
  });
  t.match(await stack.http(gwC, 'DELETE', `/api/chats/${roomId}/participants/alice`, tokens.bob), { status: 403, body: { code: 'ROOM_NOT_CREATOR' } });
  t.match(await stack.http(gwC, 'DELETE', `/api/chats/${roomId}/participants/nobody`, tokens.bob), { status: 404, body: { code: 'ROOM_MEMBER_NOT_FOUND' } });

  // Removal through B of carol, connected to A: she gets the removal, then nothing, and cannot send.
  const headBefore = Number(await stack.redis.hget(stack.keys.roomMeta(roomId), 'seq'));
  t.equal((await stack.http(gwB, 'DELETE', `/api/chats/${roomId}/participants/carol`, tokens.bob)).status, 204);
  const removal = await carol.next('message', (m) => m.chat_id === roomId && m.system?.event === 'member_removed');
  t.match(removal, { seq: headBefore + 1, system: { user_id: 'carol', actor_id: 'bob' } });
  t.match(await carol.sendMessage(roomId, 'still here?', 'c-1'), { type: 'error', code: 'ROOM_NOT_MEMBER' }, 'her open socket cannot send');
  t.match(await stack.http(gwC, 'POST', `/api/chats/${roomId}/messages`, tokens.carol, { client_id: 'c-2', message_type: 'text', content: 'x' }), {
    status: 403,
    body: { code: 'ROOM_NOT_MEMBER' },
  });
  t.equal(Number(await stack.redis.hget(stack.keys.roomMeta(roomId), 'seq')), headBefore + 1, 'refused sends take no seq');
  const after = await alice.sendMessage(roomId, 'after carol left', 'a-1');
  t.match(after, { type: 'ack', seq: headBefore + 2 });
  await dave.waitForSeq(roomId, headBefore + 2);
  await carol.barrier();
  t.same(
    carol.messages(roomId).filter((m) => m.seq > removal.seq),
    [],
    'carol received nothing after her removal',
  );

  // Leaving: bob's socket gets his own member_left, then nothing more.
  t.equal((await stack.http(gwA, 'POST', `/api/chats/${roomId}/leave`, tokens.bob)).status, 204);
  const left = await bob.next('message', (m) => m.system?.event === 'member_left');
  t.match(left, { sender_id: 'bob', system: { user_id: 'bob' } });
  t.match(await stack.http(gwA, 'POST', `/api/chats/${roomId}/leave`, tokens.bob), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  const later = await alice.sendMessage(roomId, 'bye bob', 'a-2');
  await dave.waitForSeq(roomId, (later as { seq: number }).seq);
  await bob.barrier();
  t.same(
    bob.messages(roomId).filter((m) => m.seq > left.seq),
    [],
    'bob received nothing after leaving',
  );

  // History and resume carry the system messages in order, and Postgres stores them once persisted.
  const history = await stack.http(gwC, 'GET', `/api/chats/${roomId}/messages`, tokens.alice);
  const events = history.body.messages.map((m: { system?: { event: string } }) => m.system?.event ?? 'text').reverse();
  t.same(events, ['member_joined', 'text', 'member_added', 'member_added', 'member_promoted', 'member_removed', 'text', 'member_left', 'text']);
  const { client: replay } = await TestClient.open(gwB.wsUrl, tokens.dave!, [{ chat_id: roomId, last_seq: 0 }]);
  t.teardown(() => replay.close());
  await replay.waitForSeq(roomId, (later as { seq: number }).seq);
  t.same(
    replay.messages(roomId).map((m) => m.seq),
    Array.from({ length: events.length }, (_, i) => i + 1),
    'resume replays every event once, in order',
  );
  const rows = await eventually(async () => {
    const r = await stack.db.selectFrom('messages').select(['seq', 'type', 'sender_id', 'system']).where('room_id', '=', roomId).orderBy('seq').execute();
    return r.length === events.length ? r : undefined;
  });
  t.match(rows[5], { type: 'system', sender_id: 'bob', system: { event: 'member_removed', user_id: 'carol', actor_id: 'bob' } });
  t.equal(
    (await stack.db.selectFrom('rooms').select('member_count').where('id', '=', roomId).executeTakeFirstOrThrow()).member_count,
    2,
    'alice and dave remain',
  );
});

t.test('official rooms and deleting a room', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 2);
  const [gwA, gwB] = gateways as [NonNullable<(typeof gateways)[0]>, NonNullable<(typeof gateways)[0]>];
  const admin = stack.token('root', { claims: { role: 'admin' } });
  const alice = stack.token('alice');
  const bob = stack.token('bob');

  t.match(await stack.http(gwA, 'POST', '/api/chats', alice, { type: 'group', name: 'news', is_official: true }), {
    status: 403,
    body: { code: 'ROOM_OFFICIAL_FORBIDDEN' },
  });
  t.match(await stack.http(gwA, 'POST', '/api/chats', admin, { type: 'group', name: 'news', is_official: true }), { status: 201, body: { is_official: true } });

  const roomId = await stack.createGroup('alice', ['bob'], gateways[0]);
  const { client: bobSocket } = await TestClient.open(gwB.wsUrl, bob);
  t.teardown(() => bobSocket.close());
  t.match(await stack.http(gwA, 'DELETE', `/api/chats/${roomId}`, bob), { status: 403, body: { code: 'ROOM_NOT_CREATOR' } });
  t.match(await stack.http(gwA, 'DELETE', `/api/chats/${roomId}`, stack.token('mallory')), { status: 403, body: { code: 'ROOM_NOT_CREATOR' } });
  t.equal((await stack.http(gwA, 'DELETE', `/api/chats/${roomId}`, alice)).status, 204);
  t.match(await bobSocket.next('message', (m) => m.chat_id === roomId && m.system?.event === 'room_deleted'), {
    sender_id: 'alice',
    system: { actor_id: 'alice' },
  });
  t.match(await bobSocket.sendMessage(roomId, 'anyone?', 'b-1'), { type: 'error', code: 'ROOM_NOT_MEMBER' }, 'members lose access at once');
  t.match(await stack.http(gwB, 'GET', `/api/chats/${roomId}/messages`, alice), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  t.match(await stack.http(gwB, 'POST', `/api/chats/${roomId}/join`, bob), { status: 404, body: { code: 'ROOM_NOT_FOUND' } });
  t.same((await stack.http(gwB, 'GET', '/api/chats', bob)).body.chats, [], 'the room is no longer listed');

  // A global admin may delete any room.
  const other = await stack.createGroup('bob', [], gateways[0]);
  t.equal((await stack.http(gwB, 'DELETE', `/api/chats/${other}`, admin)).status, 204);
  t.match(await stack.http(gwB, 'DELETE', `/api/chats/${other}`, admin), { status: 404, body: { code: 'ROOM_NOT_FOUND' } });
});
