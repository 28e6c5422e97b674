import t from 'tap';
import { eventually, Stack, TestClient, TEST_SERVICE_TOKEN } from '@parley/testkit';

t.test('the server API: the customer backend creates rooms, manages members and posts notices with a service token', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  const [gwA, gwB] = stack.gateways as [NonNullable<(typeof stack.gateways)[0]>, NonNullable<(typeof stack.gateways)[0]>];
  const svc = TEST_SERVICE_TOKEN;
  const { client: owner } = await TestClient.open(gwB.wsUrl, stack.token('owner'));
  t.teardown(() => owner.close());
  const { client: newbie } = await TestClient.open(gwB.wsUrl, stack.token('newbie'));
  t.teardown(() => newbie.close());

  // Only a service token opens it; a service token opens no user route.
  t.match(await stack.http(gwA, 'POST', '/api/service/chats', undefined, { type: 'direct', user_ids: ['p', 'q'] }), {
    status: 401,
    body: { code: 'AUTH_TOKEN_MISSING' },
  });
  t.match(
    await stack.http(gwA, 'POST', '/api/service/chats', stack.token('admin', { claims: { role: 'admin' } }), { type: 'direct', user_ids: ['p', 'q'] }),
    { status: 401, body: { code: 'AUTH_TOKEN_INVALID' } },
    'a user JWT, even a global admin’s, is not a service token',
  );
  t.match(await stack.http(gwA, 'POST', '/api/service/chats', `${svc}x`, { type: 'direct', user_ids: ['p', 'q'] }), {
    status: 401,
    body: { code: 'AUTH_TOKEN_INVALID' },
  });
  t.match(await stack.http(gwA, 'GET', '/api/chats', svc), { status: 401, body: { code: 'AUTH_TOKEN_INVALID' } }, 'the service token is no user');

  // Rooms: a pharmacist–patient pair (the same room whichever order), and an official group.
  const pair = await stack.http(gwA, 'POST', '/api/service/chats', svc, { type: 'direct', user_ids: ['pharmacist-7', 'patient-9'] });
  t.match(pair, { status: 201, body: { type: 'direct', member_count: 2, is_member: false } });
  t.match(await stack.http(gwA, 'POST', '/api/service/chats', svc, { type: 'direct', user_ids: ['patient-9', 'pharmacist-7'] }), {
    status: 200,
    body: { id: pair.body.id },
  });
  t.match(await stack.http(gwA, 'POST', '/api/service/chats', svc, { type: 'direct', user_ids: ['p', 'p'] }), {
    status: 400,
    body: { code: 'REQUEST_INVALID' },
  });
  const group = await stack.http(gwA, 'POST', '/api/service/chats', svc, {
    type: 'group',
    name: '用药咨询',
    created_by: 'owner',
    is_official: true,
    is_public: false,
    member_ids: ['m1'],
  });
  t.match(group, { status: 201, body: { type: 'group', is_official: true, created_by: 'owner', member_count: 2 } });
  const roomId = group.body.id as number;
  t.match(await owner.next('chat_added', (f) => f.chat_id === roomId), { head_seq: 0 }, 'the owner’s open socket starts receiving the room');
  t.match(
    await stack.http(gwB, 'GET', `/api/chats/${roomId}`, stack.token('owner')),
    { status: 200, body: { is_admin: true, is_member: true } },
    'created_by is the room admin',
  );

  // Members: add, promote, remove, each announced with no actor.
  t.match(await stack.http(gwA, 'POST', `/api/service/chats/${roomId}/participants`, svc, { user_id: 'newbie' }), {
    status: 201,
    body: { user_id: 'newbie', role: 'member' },
  });
  t.match(
    await stack.http(gwA, 'POST', `/api/service/chats/${roomId}/participants`, svc, { user_id: 'newbie' }),
    { status: 200 },
    'adding again changes nothing',
  );
  await newbie.next('chat_added', (f) => f.chat_id === roomId);
  const added = await newbie.waitForSeq(roomId, 1);
  t.match(added, { sender_id: null, message_type: 'system', system: { event: 'member_added', user_id: 'newbie' }, content: 'The service added newbie' });
  t.notOk('actor_id' in added.system!, 'the service is no actor');
  t.match(await stack.http(gwA, 'PATCH', `/api/service/chats/${roomId}/participants/newbie`, svc, { role: 'admin' }), { status: 200, body: { role: 'admin' } });
  t.match(await newbie.waitForSeq(roomId, 2), { system: { event: 'member_promoted', user_id: 'newbie' } });
  t.match(await stack.http(gwA, 'PATCH', `/api/service/chats/${roomId}/participants/nobody`, svc, { role: 'admin' }), {
    status: 404,
    body: { code: 'ROOM_MEMBER_NOT_FOUND' },
  });
  t.match(await stack.http(gwA, 'POST', `/api/service/chats/${pair.body.id}/participants`, svc, { user_id: 'x' }), {
    status: 400,
    body: { code: 'ROOM_DIRECT_MEMBERS' },
  });

  // Notices: system messages with no sender, idempotent by client_id, in the room's order.
  const notice = await stack.http(gwA, 'POST', `/api/service/chats/${roomId}/messages`, svc, { client_id: 'rx-1', content: '您的处方已审核通过' });
  t.match(notice, { status: 201, body: { chat_id: roomId, seq: 3, duplicate: false } });
  t.match(await stack.http(gwA, 'POST', `/api/service/chats/${roomId}/messages`, svc, { client_id: 'rx-1', content: '您的处方已审核通过' }), {
    status: 200,
    body: { seq: 3, duplicate: true },
  });
  t.match(await owner.waitForSeq(roomId, 3), { sender_id: null, message_type: 'system', content: '您的处方已审核通过', system: { event: 'notice' } });
  t.match(await stack.http(gwA, 'POST', `/api/service/chats/999999/messages`, svc, { client_id: 'rx-2', content: 'x' }), {
    status: 404,
    body: { code: 'ROOM_NOT_FOUND' },
  });
  const row = await eventually(() => stack.db.selectFrom('messages').selectAll().where('room_id', '=', roomId).where('seq', '=', 3).executeTakeFirst());
  t.match(row, { sender_id: null, type: 'system', system: { event: 'notice' } }, 'persisted with no sender');

  // Removal ends the member's access at once; deletion ends everyone's.
  t.equal((await stack.http(gwA, 'DELETE', `/api/service/chats/${roomId}/participants/newbie`, svc)).status, 204);
  t.match(await newbie.waitForSeq(roomId, 4), { system: { event: 'member_removed', user_id: 'newbie' } });
  t.match(await newbie.sendMessage(roomId, 'still here?', 'n-1'), { type: 'error', code: 'ROOM_NOT_MEMBER' });
  t.equal((await stack.http(gwA, 'DELETE', `/api/service/chats/${roomId}`, svc)).status, 204);
  t.match(await owner.waitForSeq(roomId, 5), { sender_id: null, system: { event: 'room_deleted' } });
  t.match(await stack.http(gwA, 'DELETE', `/api/service/chats/${roomId}`, svc), { status: 404, body: { code: 'ROOM_NOT_FOUND' } });
  t.match(await stack.http(gwB, 'GET', `/api/chats/${roomId}`, stack.token('owner')), { status: 404, body: { code: 'ROOM_NOT_FOUND' } });

  // Without SERVICE_TOKENS the server API does not exist.
  const plain = await stack.addGateway('no-service', { SERVICE_TOKENS: '' });
  t.match(await stack.http(plain, 'POST', '/api/service/chats', svc, { type: 'direct', user_ids: ['p', 'q'] }), { status: 404 });
});
