import t from 'tap';
import { eventually, Stack, TEST_SERVICE_TOKEN } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('conversation list by last activity, room discovery, room detail and participants', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 3);
  const [gwA, gwB, gwC] = gateways as [NonNullable<(typeof gateways)[0]>, NonNullable<(typeof gateways)[0]>, NonNullable<(typeof gateways)[0]>];
  const alice = stack.token('alice', { claims: { name: 'Alice A.', avatar: 'https://img.example/alice.png' } });
  const bob = stack.token('bob');
  const carol = stack.token('carol');
  const send = (gw: typeof gwA, token: string, room: number, content: string, id: string) =>
    stack.http(gw, 'POST', `/api/chats/${room}/messages`, token, { client_id: id, message_type: 'text', content });

  const lobby = (await stack.http(gwA, 'POST', '/api/chats', alice, { type: 'group', name: 'lobby', member_ids: ['bob'] })).body.id as number;
  const staff = (await stack.http(gwA, 'POST', '/api/chats', alice, { type: 'group', name: 'staff', is_public: false, member_ids: ['bob'] })).body.id as number;
  const direct = (await stack.http(gwA, 'POST', '/api/chats', alice, { type: 'direct', user_id: 'bob' })).body.id as number;

  // Activity: staff first, then lobby, then the direct room; the list is newest activity first.
  await send(gwA, alice, staff, 'staff meeting at 3', 's-1');
  await send(gwB, bob, lobby, 'hello lobby', 'l-1');
  await send(gwC, bob, direct, '请问药师在吗', 'd-1');
  const list = await eventually(
    async () => {
      const res = await stack.http(gwB, 'GET', '/api/chats', alice);
      const ids = res.body.chats.map((c: { id: number }) => c.id);
      return JSON.stringify(ids) === JSON.stringify([direct, lobby, staff]) ? res.body.chats : undefined;
    },
    20_000,
    'the list in order of last activity',
  );
  t.match(list[0], { id: direct, type: 'direct', head_seq: 1, member_count: 2, last_message: { seq: 1, sender_id: 'bob', content: '请问药师在吗' } });
  t.match(list[1], { id: lobby, is_admin: true, is_member: true, last_message: { content: 'hello lobby' } });
  const page = await stack.http(gwB, 'GET', '/api/chats?skip=1&limit=1', alice);
  t.same(
    page.body.chats.map((c: { id: number }) => c.id),
    [lobby],
    'skip and limit page the list',
  );
  t.match(await stack.http(gwB, 'GET', '/api/chats?limit=101', alice), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.match(await stack.http(gwB, 'GET', '/api/chats?scope=all', alice), { status: 400, body: { code: 'REQUEST_INVALID' } });

  // Discovery: carol sees public rooms and her own, not others' private or direct rooms.
  const visible = await stack.http(gwC, 'GET', '/api/chats?scope=visible', carol);
  t.same(
    visible.body.chats.map((c: { id: number }) => c.id),
    [lobby],
  );
  t.match(
    visible.body.chats[0],
    { is_member: false, is_admin: false, member_count: 2, head_seq: 1, last_message: { seq: 1, content: 'hello lobby' } },
    "a public room's last message is shown to anyone signed in (seed 003)",
  );
  const mine = (await stack.http(gwC, 'POST', '/api/chats', carol, { type: 'group', name: 'carol only', is_public: false })).body.id as number;
  const visible2 = await stack.http(gwC, 'GET', '/api/chats?scope=visible', carol);
  t.same(visible2.body.chats.map((c: { id: number }) => c.id).sort(), [lobby, mine].sort());
  t.same(
    (await stack.http(gwC, 'GET', '/api/chats', carol)).body.chats.map((c: { id: number }) => c.id),
    [mine],
    'mine lists only her rooms',
  );

  // Detail: members with role and read position; messages for members, and for anyone in a public room.
  const detail = await stack.http(gwB, 'GET', `/api/chats/${lobby}`, bob);
  t.match(detail, { status: 200, body: { id: lobby, name: 'lobby', is_member: true, is_admin: false, head_seq: 1 } });
  t.match(detail.body.members, [
    { user_id: 'alice', role: 'admin', last_read_seq: 0, name: 'Alice A.', avatar: 'https://img.example/alice.png' },
    { user_id: 'bob', role: 'member', name: null, avatar: null },
  ]);
  t.same(detail.body.creator, { user_id: 'alice', name: 'Alice A.', avatar: 'https://img.example/alice.png' }, 'the owner named, with avatar (seed 003)');
  t.match(
    (await stack.http(gwC, 'GET', `/api/chats/${lobby}/participants`, carol)).body.participants,
    [
      { user_id: 'alice', name: 'Alice A.' },
      { user_id: 'bob', name: null },
    ],
    'the participant list names them too',
  );
  t.equal((await stack.http(gwA, 'PUT', '/api/service/users/bob', TEST_SERVICE_TOKEN, { name: 'Bobby' })).status, 204);
  t.match(
    (await stack.http(gwB, 'GET', `/api/chats/${lobby}`, carol)).body.members,
    [{ user_id: 'alice' }, { user_id: 'bob', name: 'Bobby' }],
    'after a profile change, the new name',
  );
  t.match(detail.body.latest_messages, [{ seq: 1, content: 'hello lobby' }]);
  const asVisitor = await stack.http(gwC, 'GET', `/api/chats/${lobby}`, carol);
  t.match(
    asVisitor,
    { status: 200, body: { is_member: false, latest_messages: [{ seq: 1, content: 'hello lobby' }], last_message: { seq: 1 } } },
    'a public room shows visitors its latest messages before they join (seed 003)',
  );
  t.equal(asVisitor.body.members.length, 2);
  t.match(await stack.http(gwC, 'GET', `/api/chats/${staff}`, carol), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  t.match(await stack.http(gwC, 'GET', '/api/chats/424242', carol), { status: 404, body: { code: 'ROOM_NOT_FOUND' } });
  t.match(
    await stack.http(gwC, 'GET', `/api/chats/${staff}`, stack.token('root', { claims: { role: 'admin' } })),
    { status: 200, body: { is_member: false, latest_messages: [], last_message: null } },
    "a global admin sees any room, a private one's messages not",
  );

  // Participants, paged.
  const first = await stack.http(gwA, 'GET', `/api/chats/${lobby}/participants?limit=1`, alice);
  t.match(first.body.participants, [{ user_id: 'alice', role: 'admin' }]);
  const second = await stack.http(gwA, 'GET', `/api/chats/${lobby}/participants?skip=1&limit=1`, alice);
  t.match(second.body.participants, [{ user_id: 'bob', role: 'member' }]);
  t.match(await stack.http(gwC, 'GET', `/api/chats/${staff}/participants`, carol), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
});
