import t from 'tap';
import type { ServerFrameOf } from '@parley/protocol';
import { eventually, Stack, TestClient } from '@parley/testkit';
import { inProcessGateway, inProcessGateways, type InProcessGateway } from './in-process.js';

type Gateway = NonNullable<Stack['gateways'][0]>;
const TTL_SECONDS = 3;

/** The user's entry in a presence frame, if the frame tells of them in this state. */
const said = (f: ServerFrameOf<'presence'>, user: string, state: string) => f.users.find((u) => u.user_id === user && u.state === state);

t.test('presence over every socket on every gateway, pushed to the rooms; typing relayed and throttled', async (t) => {
  // Presence as the gateways keep it: in-process gateways (the next test kills one, in a process).
  const stack = await Stack.start(t, { gateways: 0, persisters: 1, env: { PRESENCE_TTL_SECONDS: String(TTL_SECONDS) } });
  const [gwA, gwB, gwC] = (await inProcessGateways(t, stack, 3)) as [InProcessGateway, InProcessGateway, InProcessGateway];
  const token = Object.fromEntries(['alice', 'bob', 'carol', 'dave'].map((u) => [u, stack.token(u, { claims: { name: u.toUpperCase() } })])) as Record<
    string,
    string
  >;
  const room = await stack.createGroup('alice', ['bob', 'carol'], gwA);
  const { client: alice } = await TestClient.open(gwA.wsUrl, token.alice!);
  const { client: dave } = await TestClient.open(gwA.wsUrl, token.dave!);
  t.teardown(() => Promise.all([alice.close(), dave.close()]));
  const presenceOf = async (user: string, state: string) =>
    said(await alice.next('presence', (f) => f.chat_id === room && said(f, user, state) !== undefined), user, state)!;

  const { client: bob } = await TestClient.open(gwB.wsUrl, token.bob!);
  t.match(await presenceOf('bob', 'online'), { last_seen: null }, 'bob comes online: his rooms are told');
  t.match(await stack.http(gwC, 'GET', `/api/chats/${room}/online`, token.alice), {
    status: 200,
    body: {
      users: [
        { user_id: 'alice', state: 'online' },
        { user_id: 'bob', state: 'online' },
      ],
    },
  });
  t.match(await stack.http(gwC, 'GET', `/api/chats/${room}/online`, token.dave), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });

  // Away on one socket, online on another: the user is online.
  bob.send({ type: 'set_presence', state: 'away' });
  await presenceOf('bob', 'away');
  const { client: bob2 } = await TestClient.open(gwC.wsUrl, token.bob!);
  await alice.next(
    'presence',
    (f) =>
      said(f, 'bob', 'online') !== undefined &&
      alice.frames.indexOf(f) > alice.frames.findIndex((g) => g.type === 'presence' && said(g, 'bob', 'away') !== undefined),
  );
  t.match(
    await stack.http(gwA, 'GET', '/api/users', token.alice),
    {
      status: 200,
      body: {
        users: [
          { user_id: 'bob', name: 'BOB', state: 'online' },
          { user_id: 'carol', state: 'offline', last_seen: null },
        ],
      },
    },
    'the users I share rooms with, with presence',
  );
  const online = await stack.http(gwB, 'GET', '/api/users/online', token.alice);
  t.match(
    online.body,
    { online_count: 3, users: [{ user_id: 'bob', state: 'online' }] },
    'alice, bob and dave are online; of them alice shares a room with bob',
  );
  t.notOk(
    online.body.users.some((u: { user_id: string }) => u.user_id === 'dave'),
    'users who share no room are not listed',
  );

  // Typing: relayed to the room, repeated starts throttled, a stop after a start.
  bob.send({ type: 'typing', chat_id: room, state: 'start' });
  t.match(await alice.next('typing', (f) => f.user_id === 'bob'), { chat_id: room, state: 'start', expires_in_ms: 6000 });
  bob.send({ type: 'typing', chat_id: room, state: 'start' });
  t.match(await bob.sendMessage(room, 'here it is', 'b-1'), { type: 'ack' });
  await alice.waitForSeq(room, 1);
  t.equal(alice.frames.filter((f) => f.type === 'typing').length, 1, 'a start repeated at once is not relayed (the message sent after it arrived first)');
  bob.send({ type: 'typing', chat_id: room, state: 'stop' });
  t.match(await alice.next('typing', (f) => f.state === 'stop'), { user_id: 'bob', expires_in_ms: 0 });
  t.equal(await stack.redis.exists(`typing:${room}`), 0, 'typing is never stored');

  // A non-member sees no presence or typing of the room, and cannot type in it.
  dave.send({ type: 'typing', chat_id: room, state: 'start' });
  t.match(await dave.next('error'), { code: 'ROOM_NOT_MEMBER' });
  await dave.barrier();
  t.notOk(
    dave.frames.some((f) => f.type === 'presence' || f.type === 'typing'),
    'nothing of the room reached dave',
  );

  // Last socket closed: offline, with when.
  await bob.close();
  await bob2.close();
  const gone = await presenceOf('bob', 'offline');
  t.ok(gone.last_seen && Date.now() - Date.parse(gone.last_seen) < 10_000, 'last seen just now');
  t.match(await stack.http(gwA, 'GET', '/api/users', token.alice), { body: { users: [{ user_id: 'bob', state: 'offline', last_seen: gone.last_seen }] } });

  // Per-user stats: rooms, messages sent and received (once persisted), unread, users online.
  const stats = (user: string) => stack.http(gwB, 'GET', '/api/users/me/stats', token[user]);
  await eventually(async () => (await stats('alice')).body.messages_received === 1, 20_000, 'bob’s message persisted');
  t.same((await stats('alice')).body, { user_id: 'alice', rooms: 1, messages_sent: 0, messages_received: 1, total_unread: 1, online_users: 2 });
  t.same((await stats('bob')).body, { user_id: 'bob', rooms: 1, messages_sent: 1, messages_received: 0, total_unread: 0, online_users: 2 });
});

t.test('a gateway killed with SIGKILL: its users go offline within the TTL, unless online elsewhere', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 0, env: { PRESENCE_TTL_SECONDS: String(TTL_SECONDS) } });
  const [gwA, gwB, gwC] = stack.gateways as [Gateway, Gateway, Gateway];
  const token = Object.fromEntries(['alice', 'bob', 'carol'].map((u) => [u, stack.token(u)])) as Record<string, string>;
  const room = await stack.createGroup('alice', ['bob', 'carol']);
  const { client: alice } = await TestClient.open(gwA.wsUrl, token.alice!);
  const { client: bobElsewhere } = await TestClient.open(gwB.wsUrl, token.bob!);
  t.teardown(() => Promise.all([alice.close(), bobElsewhere.close()]));
  await TestClient.open(gwC.wsUrl, token.bob!);
  await TestClient.open(gwC.wsUrl, token.carol!);
  await alice.next('presence', (f) => said(f, 'carol', 'online') !== undefined);

  const killedAt = Date.now();
  await gwC.child.kill('SIGKILL');
  const frame = await alice.next('presence', (f) => f.chat_id === room && said(f, 'carol', 'offline') !== undefined, 4 * TTL_SECONDS * 1000);
  const offline = said(frame, 'carol', 'offline')!;
  const elapsed = Date.now() - killedAt;
  t.ok(
    elapsed <= TTL_SECONDS * 1000 + (TTL_SECONDS * 1000) / 3 + 2000,
    `carol offline ${elapsed} ms after the kill (TTL ${TTL_SECONDS} s, plus one heartbeat)`,
  );
  t.ok(offline.last_seen, 'with the last time her gateway saw her');
  const now = await stack.http(gwA, 'GET', `/api/chats/${room}/online`, token.alice);
  t.same(now.body.users.map((u: { user_id: string }) => u.user_id).sort(), ['alice', 'bob'], 'bob, with a socket on a live gateway, stays online');
  await alice.barrier();
  t.notOk(
    alice.frames.some((f) => f.type === 'presence' && said(f, 'bob', 'offline') !== undefined),
    'bob was never announced offline',
  );
});

t.test('many members coming online at once reach a room in a few frames, each member once', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gw = await inProcessGateway(t, stack);
  const others = Array.from({ length: 8 }, (_, i) => `m${i}`);
  const room = await stack.createGroup('alice', others, gw);
  const { client: alice } = await TestClient.open(gw.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  const opened = await Promise.all(others.map((u) => TestClient.open(gw.wsUrl, stack.token(u))));
  t.teardown(() => Promise.all(opened.map(({ client }) => client.close())));
  const told = (f: ServerFrameOf<'presence'>) => new Set(f.users.map((u) => u.user_id));
  const frames: ServerFrameOf<'presence'>[] = [];
  const heard = new Set<string>();
  while (heard.size < others.length) {
    const f = await alice.next('presence', (g) => g.chat_id === room && !frames.includes(g) && g.users.some((u) => others.includes(u.user_id)));
    frames.push(f);
    t.equal(told(f).size, f.users.length, 'a frame names each member once');
    for (const u of f.users) if (u.state === 'online') heard.add(u.user_id);
  }
  t.ok(frames.length < others.length, `${others.length} members came online, told in ${frames.length} frames`);
});

t.test('a gateway that started after another last looked is counted when a user leaves that other one', async (t) => {
  // The longest TTL: gateway A looks at the live gateways when it starts, before B exists, and not again for 10 s.
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { PRESENCE_TTL_SECONDS: '30' } });
  const gwA = await inProcessGateway(t, stack, 'gwA');
  const gwB = await inProcessGateway(t, stack, 'gwB');
  const room = await stack.createGroup('alice', ['bob'], gwA);
  const { client: alice } = await TestClient.open(gwA.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  const { client: bobOnA } = await TestClient.open(gwA.wsUrl, stack.token('bob'));
  const { client: bobOnB } = await TestClient.open(gwB.wsUrl, stack.token('bob'));
  // Each gateway tells the room of bob coming online there.
  const online = (f: ServerFrameOf<'presence'>) => f.chat_id === room && said(f, 'bob', 'online') !== undefined;
  await alice.next('presence', (f) => online(f) && alice.frames.filter((g) => g.type === 'presence' && online(g)).indexOf(f) === 1);

  // Each gateway tells the rooms what it finds when bob leaves it.
  const about = (after: number) => alice.next('presence', (f) => alice.frames.indexOf(f) >= after && f.users.some((u) => u.user_id === 'bob'));
  let after = alice.frames.length;
  await bobOnA.close();
  t.ok(said(await about(after), 'bob', 'online'), 'bob leaves A while on B: still online');
  after = alice.frames.length;
  await bobOnB.close();
  t.ok(said(await about(after), 'bob', 'offline'), 'bob leaves B too: offline');
});
