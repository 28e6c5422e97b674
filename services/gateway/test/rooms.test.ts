import t from 'tap';
import { Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('direct and group rooms, members, and my room list', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 2);
  const [gw1, gw2] = gateways;
  const alice = stack.token('alice', { claims: { name: 'Alice', role: 'pharmacist' } });
  const bob = stack.token('bob');

  const a = await stack.http(gw1!, 'POST', '/api/chats', alice, { type: 'direct', user_id: 'bob' });
  t.equal(a.status, 201, 'the first call creates the direct room');
  t.match(a.body, { type: 'direct', is_member: true, member_count: 2 });
  const b = await stack.http(gw2!, 'POST', '/api/chats', bob, { type: 'direct', user_id: 'alice' });
  t.equal(b.status, 200, 'the pair in the other order gets the same room');
  t.equal(b.body.id, a.body.id);
  const self = await stack.http(gw1!, 'POST', '/api/chats', alice, { type: 'direct', user_id: 'alice' });
  t.match(self, { status: 400, body: { code: 'ROOM_DIRECT_SELF' } });
  const invalid = await stack.http(gw1!, 'POST', '/api/chats', alice, { type: 'group', name: '' });
  t.match(invalid, { status: 400, body: { code: 'REQUEST_INVALID' } });
  const nul = await stack.http(gw1!, 'POST', '/api/chats', alice, { type: 'group', name: 'a\u0000b', member_ids: ['x\u0000y'] });
  t.match(nul, { status: 400, body: { code: 'REQUEST_INVALID' } }, 'NUL, which Postgres cannot store, is refused up front');

  const group = await stack.http(gw1!, 'POST', '/api/chats', alice, { type: 'group', name: '药房', description: 'pharmacy', member_ids: ['bob'] });
  t.equal(group.status, 201);
  t.match(group.body, { type: 'group', name: '药房', is_admin: true, member_count: 2, is_public: true });
  const roomId = group.body.id as number;

  const list = await stack.http(gw2!, 'GET', '/api/chats', bob);
  t.same(list.body.chats.map((c: { id: number }) => c.id).sort(), [a.body.id, roomId].sort(), 'bob lists both rooms');
  t.match(
    list.body.chats.find((c: { id: number }) => c.id === roomId),
    { is_admin: false, is_member: true },
  );

  // carol, connected before she is added, starts receiving the room at once.
  const { client: carol } = await TestClient.open(gw2!.wsUrl, stack.token('carol'));
  t.teardown(() => carol.close());
  const notAdmin = await stack.http(gw2!, 'POST', `/api/chats/${roomId}/participants`, bob, { user_id: 'carol' });
  t.match(notAdmin, { status: 403, body: { code: 'ROOM_NOT_ADMIN' } });
  const outsider = await stack.http(gw2!, 'POST', `/api/chats/${roomId}/participants`, stack.token('dave'), { user_id: 'dave' });
  t.match(outsider, { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  const direct = await stack.http(gw1!, 'POST', `/api/chats/${a.body.id}/participants`, alice, { user_id: 'carol' });
  t.match(direct, { status: 400, body: { code: 'ROOM_DIRECT_MEMBERS' } });

  const added = await stack.http(gw1!, 'POST', `/api/chats/${roomId}/participants`, alice, { user_id: 'carol' });
  t.match(added, { status: 201, body: { chat_id: roomId, user_id: 'carol', role: 'member' } });
  t.equal((await stack.http(gw1!, 'POST', `/api/chats/${roomId}/participants`, alice, { user_id: 'carol' })).status, 200, 'adding again changes nothing');
  await carol.next('chat_added', (f) => f.chat_id === roomId);

  const { client: sender } = await TestClient.open(gw1!.wsUrl, alice);
  t.teardown(() => sender.close());
  t.match(await carol.waitForSeq(roomId, 1), { system: { event: 'member_added', user_id: 'carol' } }, 'the addition is seq 1');
  t.match(await sender.sendMessage(roomId, 'welcome carol', 'w-1'), { type: 'ack', seq: 2 });
  t.equal((await carol.waitForSeq(roomId, 2)).content, 'welcome carol', 'the added member receives on a socket opened before');
  t.match(await carol.sendMessage(roomId, 'thanks', 'c-1'), { type: 'ack', seq: 3 }, 'and may send at once');

  // Message types (seeds 001, 002): users send text, image, file, audio and video; system is the server's.
  for (const [i, type] of (['text', 'image', 'file', 'audio', 'video'] as const).entries()) {
    sender.send({ type: 'send_message', chat_id: roomId, client_id: `type-${type}`, message_type: type, content: `${type} content` });
    t.match(await carol.waitForSeq(roomId, 4 + i), { message_type: type, content: `${type} content` }, `a ${type} message is delivered`);
  }
  sender.sendRaw(JSON.stringify({ type: 'send_message', chat_id: roomId, client_id: 'type-system', message_type: 'system', content: 'forged' }));
  t.match(await sender.next('error', (f) => f.code === 'FRAME_INVALID'), { message: /message_type/ }, 'a client cannot send a system message');
  t.match(await stack.http(gw2!, 'POST', `/api/chats/${roomId}/messages`, bob, { client_id: 'rest-system', message_type: 'system', content: 'forged' }), {
    status: 400,
    body: { code: 'REQUEST_INVALID' },
  });
  t.match(await stack.http(gw2!, 'POST', `/api/chats/${roomId}/messages`, bob, { client_id: 'rest-video', message_type: 'video', content: 'video content' }), {
    status: 201,
    body: { seq: 9 },
  });

  // Group fields (seed 003): name 1 to 100 characters, description up to 500.
  const named = (name: string, description?: string) => stack.http(gw1!, 'POST', '/api/chats', alice, { type: 'group', name, description });
  t.equal((await named('名'.repeat(100), 'd'.repeat(500))).status, 201, 'a 100-character name and a 500-character description are taken');
  t.match(await named('名'.repeat(101)), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(await named('ok', 'd'.repeat(501)), { status: 400, body: { code: 'REQUEST_INVALID' } });

  const profile = await stack.db.selectFrom('users').selectAll().where('id', '=', 'alice').executeTakeFirstOrThrow();
  t.match(profile, { name: 'Alice', role: 'pharmacist' }, 'the user row was upserted from the token claims');
});
