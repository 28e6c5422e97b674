import t from 'tap';
import { eventually, Stack, TestClient } from '@parley/testkit';
import { inProcessGateways, type InProcessGateway as Gateway } from './in-process.js';

// Read state is logic over Redis and Postgres: its gateways run in this process (no process dies here).

interface Unread {
  total_unread: number;
  chats: Array<{ chat_id: number; head_seq: number; last_read_seq: number; unread: number }>;
}

t.test('unread counts follow the read position on every gateway, pushed on every change, with receipts to the room', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 3);
  const [gwA, gwB, gwC] = gateways as [Gateway, Gateway, Gateway];
  const users = ['alice', 'bob', 'carol'] as const;
  const token = Object.fromEntries([...users, 'dave'].map((u) => [u, stack.token(u)])) as Record<string, string>;
  const room = await stack.createGroup('alice', ['bob', 'carol'], gwA);
  const direct = (await stack.http(gwA, 'POST', '/api/chats', token.alice, { type: 'direct', user_id: 'bob' })).body.id as number;
  const gwOf = { alice: gwA, bob: gwB, carol: gwC } as const;
  const sockets = Object.fromEntries(await Promise.all(users.map(async (u) => [u, (await TestClient.open(gwOf[u].wsUrl, token[u]!)).client]))) as Record<
    (typeof users)[number],
    TestClient
  >;
  const { client: bob2, welcome: bobWelcome } = await TestClient.open(gwA.wsUrl, token.bob!);
  const { client: dave } = await TestClient.open(gwC.wsUrl, token.dave!);
  t.teardown(() => Promise.all([...Object.values(sockets), bob2, dave].map((c) => c.close())));
  t.match(
    bobWelcome.chats.find((c) => c.chat_id === room),
    { head_seq: 0, last_read_seq: 0 },
    'welcome carries the read position',
  );

  const unread = async (user: string, gw: Gateway = gwB) => (await stack.http<Unread>(gw, 'GET', '/api/unread-count', token[user])).body;
  // The model: heads from the acks, read positions from the marks.
  const head = new Map([
    [room, 0],
    [direct, 0],
  ]);
  const read = new Map<string, number>(
    users.flatMap((u) => [
      [`${u}:${room}`, 0],
      [`${u}:${direct}`, 0],
    ]),
  );
  const membersOf = (r: number) => (r === room ? users : (['alice', 'bob'] as const));
  async function expectCounts(label: string) {
    for (const [i, user] of users.entries()) {
      const got = await unread(user, gateways[i]);
      const rooms = [room, direct].filter((r) => (membersOf(r) as readonly string[]).includes(user));
      const want = rooms.map((r) => ({
        chat_id: r,
        head_seq: head.get(r)!,
        last_read_seq: read.get(`${user}:${r}`)!,
        unread: head.get(r)! - read.get(`${user}:${r}`)!,
      }));
      t.same(
        { ...got, chats: [...got.chats].sort((a, b) => a.chat_id - b.chat_id) },
        { total_unread: want.reduce((s, c) => s + c.unread, 0), chats: want.sort((a, b) => a.chat_id - b.chat_id) },
        `${label}: ${user}`,
      );
    }
  }

  // Steps: senders on all three gateways at once, while others mark read on other gateways.
  for (let step = 1; step <= 4; step++) {
    const sends = users.flatMap((u, i) =>
      [room, direct]
        .filter((r) => (membersOf(r) as readonly string[]).includes(u))
        .flatMap((r) =>
          Array.from({ length: 3 }, (_, k) =>
            stack
              .http(gateways[(i + k) % 3]!, 'POST', `/api/chats/${r}/messages`, token[u], {
                client_id: `s${step}-${u}-${r}-${k}`,
                message_type: 'text',
                content: `step ${step}`,
              })
              .then((res) => ({ u, res })),
          ),
        ),
    );
    const before = head.get(room)!;
    const marks = users.map((u, i) => {
      const seq = Math.max(1, before - i);
      return stack.http(gateways[(i + 1) % 3]!, 'PUT', `/api/chats/${room}/read`, token[u], { seq }).then((res) => ({ u, seq, res }));
    });
    for (const { u, res: ack } of await Promise.all(sends)) {
      head.set(ack.body.chat_id, Math.max(head.get(ack.body.chat_id)!, ack.body.seq));
      // What a member sends they have read.
      const key = `${u}:${ack.body.chat_id}`;
      read.set(key, Math.max(read.get(key)!, ack.body.seq));
    }
    for (const { u, seq, res } of await Promise.all(marks)) {
      t.equal(res.status, 200);
      const key = `${u}:${room}`;
      // A mark is clamped to the head it met, which lies between the head before the step and after.
      read.set(key, Math.max(read.get(key)!, res.body.last_read_seq));
      t.ok(res.body.last_read_seq <= Math.max(seq, read.get(key)!), 'a mark never goes past what was asked (or back)');
    }
    await expectCounts(`after step ${step}`);
  }

  // Quiet marks: the pushed state equals the queried one, on every socket of the user.
  for (let k = 0; k < 3; k++) {
    const sent = await stack.http(gwC, 'POST', `/api/chats/${room}/messages`, token.alice, { client_id: `quiet-${k}`, message_type: 'text', content: 'quiet' });
    head.set(room, sent.body.seq);
    read.set(`alice:${room}`, sent.body.seq);
  }
  await expectCounts('alice’s own messages are not unread for her');
  const target = head.get(room)! - 2;
  bob2.send({ type: 'mark_read', chat_id: room, seq: target });
  read.set(`bob:${room}`, Math.max(read.get(`bob:${room}`)!, target));
  const pushed = await Promise.all([bob2, sockets.bob].map((c) => c.next('read_state', (f) => f.chat_id === room && f.last_read_seq === target)));
  await expectCounts('after a quiet mark');
  const bobNow = await unread('bob');
  for (const p of pushed) t.match(p, { unread: 2, total_unread: bobNow.total_unread }, 'the pushed counts are the queried ones');
  t.match(
    await sockets.alice.next('read_receipt', (f) => f.chat_id === room && f.user_id === 'bob' && f.seq === target),
    { type: 'read_receipt' },
    'members get the receipt',
  );
  bob2.send({ type: 'mark_read', chat_id: room, seq: 1 });
  t.match(
    await bob2.next('read_state', (f) => f.chat_id === room && f.last_read_seq === target && bob2.frames.indexOf(f) > bob2.frames.indexOf(pushed[0]!)),
    { unread: 2 },
    'a mark backwards is answered with the position unchanged',
  );

  // Marking to the head (no seq), a whole room, or everything.
  const all = await stack.http<Unread>(gwC, 'PUT', '/api/chats/read', token.carol);
  t.match(all, { status: 200, body: { total_unread: 0 } });
  t.ok(
    all.body.chats.every((c) => c.unread === 0 && c.last_read_seq === c.head_seq),
    'PUT /api/chats/read reads every room to its head',
  );
  t.match(await stack.http(gwA, 'PUT', `/api/chats/${direct}/read`, token.alice), { status: 200, body: { unread: 0, last_read_seq: head.get(direct) } });
  t.match(
    await stack.http(gwA, 'PUT', `/api/chats/${room}/read`, token.alice, { seq: 999_999 }),
    { status: 200, body: { unread: 0, last_read_seq: head.get(room) } },
    'clamped to the head',
  );

  // Non-members learn nothing and change nothing.
  t.match(await stack.http(gwA, 'PUT', `/api/chats/${room}/read`, token.dave), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  dave.send({ type: 'mark_read', chat_id: room });
  t.match(await dave.next('error'), { code: 'ROOM_NOT_MEMBER' });
  await dave.barrier();
  t.notOk(
    dave.frames.some((f) => f.type === 'read_receipt' || f.type === 'read_state'),
    'no receipt or read state of a room reaches a non-member',
  );
  t.same(await unread('dave'), { total_unread: 0, chats: [] });

  // A member who arrives starts with nothing unread: what was said before is not theirs to read.
  t.equal((await stack.http(gwA, 'POST', `/api/chats/${room}/participants`, token.alice, { user_id: 'dave' })).status, 201);
  const daveState = await dave.next('read_state', (f) => f.chat_id === room);
  t.match(daveState, { unread: 0, last_read_seq: head.get(room)! + 1 });
  t.match((await unread('dave')).chats, [{ chat_id: room, unread: 0 }]);

  // Postgres gets every position from the stream.
  const expected = await unread('bob');
  await eventually(
    async () => {
      const rows = await stack.db.selectFrom('room_members').select(['room_id', 'last_read_seq']).where('user_id', '=', 'bob').execute();
      return expected.chats.every((c) => rows.some((r) => Number(r.room_id) === c.chat_id && Number(r.last_read_seq) === c.last_read_seq));
    },
    20_000,
    'read positions persisted',
  );
});

t.test('after Redis loses everything, heads and read positions are rebuilt from Postgres', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const [gwA, gwB] = (await inProcessGateways(t, stack, 2)) as [Gateway, Gateway];
  const token = { alice: stack.token('alice'), bob: stack.token('bob') };
  const room = await stack.createGroup('alice', ['bob'], gwA);
  for (let i = 1; i <= 5; i++)
    await stack.http(gwA, 'POST', `/api/chats/${room}/messages`, token.alice, { client_id: `m-${i}`, message_type: 'text', content: `m${i}` });
  await stack.http(gwB, 'PUT', `/api/chats/${room}/read`, token.bob, { seq: 3 });
  const before = {
    alice: (await stack.http<Unread>(gwA, 'GET', '/api/unread-count', token.alice)).body,
    bob: (await stack.http<Unread>(gwB, 'GET', '/api/unread-count', token.bob)).body,
  };
  t.match(before.bob, { total_unread: 2, chats: [{ head_seq: 5, last_read_seq: 3, unread: 2 }] });
  await eventually(async () => (await stack.pendingCount()) === 0 && (await stack.streamLength()) === 0, 20_000, 'everything persisted');

  await stack.flushAll();
  t.same((await stack.http<Unread>(gwB, 'GET', '/api/unread-count', token.bob)).body, before.bob, 'bob’s counts, from Postgres');
  t.same((await stack.http<Unread>(gwA, 'GET', '/api/unread-count', token.alice)).body, before.alice, 'alice’s too');
  const next = await stack.http(gwB, 'POST', `/api/chats/${room}/messages`, token.alice, {
    client_id: 'after-flush',
    message_type: 'text',
    content: 'still here',
  });
  t.match(next, { status: 201, body: { seq: 6 } }, 'the next message follows the persisted head');
  t.match(await stack.http(gwA, 'PUT', `/api/chats/${room}/read`, token.bob), { status: 200, body: { last_read_seq: 6, unread: 0 } }, 'marks work again');
  await eventually(
    async () => {
      const row = await stack.db.selectFrom('messages').select('content').where('room_id', '=', room).where('seq', '=', 6).executeTakeFirst();
      const member = await stack.db
        .selectFrom('room_members')
        .select('last_read_seq')
        .where('room_id', '=', room)
        .where('user_id', '=', 'bob')
        .executeTakeFirst();
      return row?.content === 'still here' && Number(member?.last_read_seq) === 6;
    },
    20_000,
    'the persister made its group again and persists',
  );
  const history = await stack.http(gwA, 'GET', `/api/chats/${room}/messages`, token.bob);
  t.same(
    history.body.messages.map((m: { seq: number }) => m.seq),
    [6, 5, 4, 3, 2, 1],
    'history is whole',
  );
});

t.test('sending costs the same Redis commands in a room of 5,000 members as in a room of 2', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const [gw] = (await inProcessGateways(t, stack, 1)) as [Gateway];
  const small = await stack.createGroup('alice', ['bob'], gw);
  const large = await stack.createGroup('alice', [], gw);
  // 5,000 members, written straight to Postgres: adding them one by one through the API is not what is measured.
  const ids = Array.from({ length: 4999 }, (_, i) => `member-${i}`);
  await stack.db
    .insertInto('users')
    .values(ids.map((id) => ({ id })))
    .execute();
  await stack.db
    .insertInto('room_members')
    .values(ids.map((user_id) => ({ room_id: large, user_id, role: 'member' as const })))
    .execute();
  await stack.db.updateTable('rooms').set({ member_count: 5000 }).where('id', '=', large).execute();
  const alice = stack.token('alice');
  const send = (r: number, id: string) =>
    stack.http(gw, 'POST', `/api/chats/${r}/messages`, alice, { client_id: id, message_type: 'text', content: 'hello everyone' });
  // What runs whatever the traffic (a cluster client's slot refreshes, replicas' acks, this test's INFO) is not a send's.
  const background = /^(info|hello|ping|replconf|cluster\||client\|)/;
  // The gateway's own timers (presence heartbeats, the relay's probes) also run commands now and
  // then; they only ever add. So a send is measured three times and each command counted by its
  // fewest calls: what every send ran, whatever ran beside it.
  async function cost(r: number, id: string): Promise<Record<string, number>> {
    const samples: Array<Map<string, number>> = [];
    for (let i = 0; i < 3; i++) {
      const before = await stack.commandCalls();
      t.equal((await send(r, `${id}-${i}`)).status, 201);
      const after = await stack.commandCalls();
      samples.push(new Map([...after].filter(([cmd]) => !background.test(cmd)).map(([cmd, n]) => [cmd, n - (before.get(cmd) ?? 0)])));
    }
    return Object.fromEntries(
      [...samples[0]!.keys()]
        .map((cmd) => [cmd, Math.min(...samples.map((sample) => sample.get(cmd) ?? 0))] as const)
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  }
  // Warm both rooms (member caches, heads), then measure one message each.
  await send(small, 'warm-small');
  await send(large, 'warm-large');
  const smallCost = await cost(small, 'measure-small');
  const largeCost = await cost(large, 'measure-large');
  t.same(largeCost, smallCost, `the same commands: ${JSON.stringify(smallCost)}`);
  t.ok(Object.values(smallCost).reduce((a, b) => a + b, 0) < 20, 'a handful of commands');
  t.equal(await stack.redis.scard(stack.keys.roomMembers(large)), 5001, 'the large room’s members were cached (5,000 and the sentinel)');
});

t.test('in a direct room the sender sees sent, then delivered, then read, across gateways', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const [gwA, gwB] = (await inProcessGateways(t, stack, 2)) as [Gateway, Gateway];
  const token = { alice: stack.token('alice'), bob: stack.token('bob'), carol: stack.token('carol') };
  const room = (await stack.http(gwA, 'POST', '/api/chats', token.alice, { type: 'direct', user_id: 'bob' })).body.id as number;
  const group = await stack.createGroup('alice', ['bob'], gwA);
  const { client: alice } = await TestClient.open(gwA.wsUrl, token.alice);
  const { client: bob } = await TestClient.open(gwB.wsUrl, token.bob);
  t.teardown(() => Promise.all([alice.close(), bob.close()]));
  const status = (seq: number, who: string = token.alice) => stack.http(gwB, 'GET', `/api/chats/${room}/messages/${seq}/status`, who);

  const ack = await alice.sendMessage(room, '您好，药已经寄出', 'rx-1');
  t.match(ack, { type: 'ack', seq: 1 });
  t.match(await status(1), { status: 200, body: { chat_id: room, seq: 1, status: 'sent' } });

  await bob.waitForSeq(room, 1);
  bob.send({ type: 'received', chat_id: room, seq: 1 });
  const delivered = await alice.next('delivery_receipt', (f) => f.chat_id === room && f.user_id === 'bob');
  t.match(delivered, { seq: 1 });
  t.match(await status(1), { status: 200, body: { status: 'delivered' } });

  bob.send({ type: 'mark_read', chat_id: room, seq: 1 });
  const read = await alice.next('read_receipt', (f) => f.chat_id === room && f.user_id === 'bob' && f.seq >= 1);
  t.match(await status(1), { status: 200, body: { status: 'read' } });
  t.ok(
    alice.frames.indexOf(ack) < alice.frames.indexOf(delivered) && alice.frames.indexOf(delivered) < alice.frames.indexOf(read),
    'the sender observed sent, delivered, read in that order',
  );

  // Refusals: group rooms keep no delivery; non-members and unknown messages.
  bob.send({ type: 'received', chat_id: group, seq: 1 });
  t.match(await bob.next('error', (f) => f.code === 'ROOM_NOT_DIRECT'), { code: 'ROOM_NOT_DIRECT' });
  t.match(await stack.http(gwA, 'GET', `/api/chats/${group}/messages/1/status`, token.alice), { status: 400, body: { code: 'ROOM_NOT_DIRECT' } });
  t.match(await status(1, token.carol), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  t.match(await status(2), { status: 404, body: { code: 'MESSAGE_NOT_FOUND' } });

  await eventually(
    async () => {
      const row = await stack.db
        .selectFrom('room_members')
        .select(['last_delivered_seq', 'last_read_seq'])
        .where('room_id', '=', room)
        .where('user_id', '=', 'bob')
        .executeTakeFirst();
      return Number(row?.last_delivered_seq) === 1 && Number(row?.last_read_seq) === 1;
    },
    20_000,
    'delivered and read positions persisted',
  );
});

t.test(
  'unread counts count messages: never edits, deletions, recalls or system messages; exact with concurrent senders, from the log and from Postgres',
  async (t) => {
    // ROOM_LOG_WINDOW 0: once persisted, a room's events leave the Redis log, and counts come from Postgres.
    const stack = await Stack.start(t, { gateways: 0, persisters: 1, env: { ROOM_LOG_WINDOW: '0' } });
    const [gwA, gwB] = (await inProcessGateways(t, stack, 2)) as [Gateway, Gateway];
    const token = (user: string) => stack.token(user);
    const room = await stack.createGroup('alice', ['bob', 'carol'], gwA);
    let serial = 0;
    const send = async (gw: Gateway, user: string) => {
      const res = await stack.http(gw, 'POST', `/api/chats/${room}/messages`, token(user), {
        client_id: `u${++serial}`,
        message_type: 'text',
        content: `${user} ${serial}`,
      });
      if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.seq as number;
    };
    const change = async (gw: Gateway, user: string, method: string, path: string, body?: unknown) => {
      const res = await stack.http(gw, method, `/api/chats/${room}/messages/${path}`, token(user), body);
      if (res.status !== 201) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    };
    const unreadOf = async (user: string, gw: Gateway) => {
      const { body } = await stack.http<Unread>(gw, 'GET', '/api/unread-count', token(user));
      return body.chats.find((c) => c.chat_id === room)!.unread;
    };
    const persisted = () => eventually(async () => (await stack.pendingCount()) === 0 && (await stack.streamLength()) === 0, 20_000, 'persisted');

    const recalled = await send(gwA, 'bob');
    t.equal(await unreadOf('alice', gwB), 1, 'one message: 1');
    await change(gwA, 'bob', 'POST', `${recalled}/recall`);
    t.equal(await unreadOf('alice', gwB), 0, 'the same message recalled: 0 (the recall is not a message, and the message is gone)');
    const edited = await send(gwB, 'bob');
    await change(gwA, 'bob', 'PATCH', `${edited}`, { client_id: `u${++serial}`, content: 'edited once' });
    await change(gwB, 'bob', 'PATCH', `${edited}`, { client_id: `u${++serial}`, content: 'edited twice' });
    t.equal(await unreadOf('alice', gwA), 1, 'one message edited twice: 1');
    t.equal((await stack.http(gwA, 'POST', `/api/chats/${room}/participants`, token('alice'), { user_id: 'dave' })).status, 201);
    t.equal(await unreadOf('alice', gwB), 1, 'a member added (a system message): still 1');
    await persisted();
    t.equal(await unreadOf('alice', gwB), 1, 'the same from Postgres');
    await change(gwA, 'bob', 'DELETE', `${edited}`);
    t.equal(await unreadOf('alice', gwA), 0, 'deleted after Postgres had the message: 0');
    await persisted();
    t.equal(await unreadOf('alice', gwA), 0, 'and once Postgres has the deletion');

    // Bob and carol send at once from both gateways, each deleting or editing some of theirs.
    const live = new Map<number, string>();
    await Promise.all(
      (['bob', 'carol'] as const).map(async (user, u) => {
        for (let i = 0; i < 12; i++) {
          const gw = (i + u) % 2 ? gwA : gwB;
          const seq = await send(gw, user);
          live.set(seq, user);
          if (i % 3 === 0) {
            await change(gw, user, 'DELETE', `${seq}`);
            live.delete(seq);
          } else if (i % 3 === 1) await change(gw, user, 'PATCH', `${seq}`, { client_id: `u${++serial}`, content: 'changed' });
        }
      }),
    );
    const othersAfter = (user: string, after: number) => [...live].filter(([seq, sender]) => seq > after && sender !== user).length;
    const lastOwn = (user: string) => Math.max(0, ...[...live].filter(([, sender]) => sender === user).map(([seq]) => seq));
    t.equal(await unreadOf('alice', gwA), othersAfter('alice', 0), `alice: the ${othersAfter('alice', 0)} live messages, from the log`);
    t.equal(await unreadOf('carol', gwB), othersAfter('carol', lastOwn('carol')), "carol: bob's live messages after her own last one");
    await persisted();
    t.equal(await unreadOf('alice', gwB), othersAfter('alice', 0), 'the same from Postgres');
    const middle = [...live.keys()].sort((a, b) => a - b)[4]!;
    const marked = await stack.http<{ unread: number; total_unread: number }>(gwB, 'PUT', `/api/chats/${room}/read`, token('alice'), { seq: middle });
    t.match(marked.body, { unread: othersAfter('alice', middle) }, 'read up to a middle message: what is live after it');
  },
);
