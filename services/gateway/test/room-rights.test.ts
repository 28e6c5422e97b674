import t from 'tap';
import { Stack, TEST_SERVICE_TOKEN, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('rights follow membership and role at the moment of the request', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const as = (user: string, method: string, path: string, body?: unknown) => stack.http(gw!, method, path, stack.token(user), body);
  const root = stack.token('root', { claims: { role: 'admin' } });

  await t.test('a creator removed from the room, or demoted, by a global admin can no longer delete it', async (t) => {
    const room = await stack.createGroup('alice', ['bob'], gateways[0]);
    t.equal((await stack.http(gw!, 'DELETE', `/api/chats/${room}/participants/alice`, root)).status, 204, 'a global admin removes the creator');
    t.match(await as('alice', 'DELETE', `/api/chats/${room}`), { status: 403, body: { code: 'ROOM_NOT_CREATOR' } }, 'the former creator is refused');
    t.equal((await as('bob', 'GET', `/api/chats/${room}`)).status, 200, 'the room still exists');
    const other = await stack.createGroup('alice', ['bob'], gateways[0]);
    t.equal(
      (await stack.http(gw!, 'PATCH', `/api/chats/${other}/participants/alice`, root, { role: 'member' })).status,
      200,
      'a global admin demotes the creator',
    );
    t.match(await as('alice', 'DELETE', `/api/chats/${other}`), { status: 403, body: { code: 'ROOM_NOT_ADMIN' } }, 'a demoted creator is refused');
  });

  await t.test('an owner who leaves hands the room on: to the longest-standing admin, else member', async (t) => {
    const room = await stack.createGroup('alice', ['bob', 'carol'], gateways[0]);
    const { client: bob } = await TestClient.open(gw!.wsUrl, stack.token('bob'), [{ chat_id: room, last_seq: 0 }]);
    t.teardown(() => bob.close());
    t.equal((await as('alice', 'POST', `/api/chats/${room}/leave`)).status, 204, 'the creator leaves');
    const promoted = await bob.next('message', (m) => m.chat_id === room && m.system?.event === 'member_promoted');
    t.match(
      promoted,
      { system: { event: 'member_promoted', user_id: 'bob' }, sender_id: null },
      'bob, the longest-standing member, is promoted (by the service)',
    );
    t.match((await as('bob', 'GET', `/api/chats/${room}`)).body, { created_by: 'bob', is_admin: true }, 'and owns the room');
    t.match(await as('carol', 'DELETE', `/api/chats/${room}`), { status: 403, body: { code: 'ROOM_NOT_CREATOR' } }, 'carol is not its owner');

    // With an admin left, ownership passes to them and nobody new is promoted.
    t.equal((await as('bob', 'PATCH', `/api/chats/${room}/participants/carol`, { role: 'admin' })).status, 200);
    t.equal((await as('bob', 'POST', `/api/chats/${room}/leave`)).status, 204);
    t.match((await as('carol', 'GET', `/api/chats/${room}`)).body, { created_by: 'carol', is_admin: true }, 'carol, an admin, owns it now');
    t.equal((await as('carol', 'DELETE', `/api/chats/${room}`)).status, 204, 'and may delete it');
  });

  await t.test('a deleted direct room does not block the pair: the next one is new', async (t) => {
    const first = await as('dan', 'POST', '/api/chats', { type: 'direct', user_id: 'erin' });
    t.equal(first.status, 201);
    t.equal((await stack.http(gw!, 'DELETE', `/api/chats/${first.body.id}`, root)).status, 204, 'a global admin deletes it');
    const again = await as('erin', 'POST', '/api/chats', { type: 'direct', user_id: 'dan' });
    t.match(again, { status: 201, body: { type: 'direct', member_count: 2, is_member: true } }, 'a new direct room');
    t.not(again.body.id, first.body.id);
    t.equal(
      (await as('dan', 'POST', `/api/chats/${again.body.id}/messages`, { client_id: 'hi-again', message_type: 'text', content: 'hello again' })).status,
      201,
      'where the pair can talk',
    );
    const service = (method: string, path: string, body?: unknown) => stack.http(gw!, method, path, TEST_SERVICE_TOKEN, body);
    t.equal((await service('DELETE', `/api/service/chats/${again.body.id}`)).status, 204, 'the server API deletes it');
    const third = await service('POST', '/api/service/chats', { type: 'direct', user_ids: ['dan', 'erin'] });
    t.match(third, { status: 201, body: { type: 'direct', member_count: 2 } }, 'and opens a new one');
  });

  await t.test('every valid user id works in every route, 128 characters included', async (t) => {
    const long = 'u'.repeat(101) + '药'.repeat(27);
    t.equal(long.length, 128);
    const room = await stack.createGroup('alice', [long], gateways[0]);
    const path = `/api/chats/${room}/participants/${encodeURIComponent(long)}`;
    t.match(await as('alice', 'PATCH', path, { role: 'admin' }), { status: 200, body: { user_id: long, role: 'admin' } }, 'promoted');
    t.match(await as('alice', 'PATCH', path, { role: 'member' }), { status: 200, body: { role: 'member' } }, 'demoted');
    t.equal((await as('alice', 'DELETE', path)).status, 204, 'removed');
  });
});
