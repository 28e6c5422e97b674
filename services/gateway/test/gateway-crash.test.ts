import t from 'tap';
import { ChatLoad, Stack, TestClient } from '@parley/testkit';
import type { ServerFrameOf } from '@parley/protocol';

t.test('clients of a gateway killed under load resume on another with every message once, in order', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 1, env: { RESUME_MAX_EVENTS: '150' } });
  const [gw1, gw2, gw3] = stack.gateways;
  const room = await stack.createGroup('s2', ['s3', 'v1', 'v2', 'late']);
  const { client: s2 } = await TestClient.open(gw2!.wsUrl, stack.token('s2'));
  const { client: s3 } = await TestClient.open(gw3!.wsUrl, stack.token('s3'));
  const victims = await Promise.all(['v1', 'v2'].map((u) => TestClient.open(gw1!.wsUrl, stack.token(u)).then((o) => o.client)));
  t.teardown(() => Promise.all([s2.close(), s3.close()]));

  const perSender = 120;
  const send = async (c: TestClient, name: string) => {
    for (let i = 0; i < perSender; i++) {
      const ack = await c.sendMessage(room, `${name} ${i}`, `${name}-${i}`);
      if (ack.type !== 'ack') throw new Error(`refused: ${JSON.stringify(ack)}`);
    }
  };
  const load = Promise.all([send(s2, 's2'), send(s3, 's3')]);

  // Kill gateway 1 once its clients are receiving.
  await Promise.all(victims.map((v) => v.waitForSeq(room, 30)));
  await gw1!.child.kill('SIGKILL');
  const closes = await Promise.all(victims.map((v) => v.closed));
  t.ok(
    closes.every((c) => c.code === 1006),
    'the victims saw the connection drop',
  );

  // Each victim reconnects to another gateway with the last seq it saw.
  const resumed = await Promise.all(
    victims.map(async (v, i) => {
      const seen = v.messages(room);
      const last = seen[seen.length - 1]!.seq;
      const target = i === 0 ? gw2! : gw3!;
      const { client } = await TestClient.open(target.wsUrl, stack.token(`v${i + 1}`), [{ chat_id: room, last_seq: last }]);
      t.teardown(() => client.close());
      return { before: seen, client };
    }),
  );
  await load;
  const total = 2 * perSender;
  for (const [i, { before, client }] of resumed.entries()) {
    await client.waitForSeq(room, total);
    const all = [...before, ...client.messages(room)].map((m) => m.seq);
    t.same(
      all,
      Array.from({ length: total }, (_, k) => k + 1),
      `victim ${i + 1}: every seq once, in order, across the crash`,
    );
  }

  // A resume past the replay maximum is told so, and history fills the gap.
  const { client: late } = await TestClient.open(gw2!.wsUrl, stack.token('late'), [{ chat_id: room, last_seq: 10 }]);
  t.teardown(() => late.close());
  const tooFar: ServerFrameOf<'resume_too_far'> = await late.next('resume_too_far');
  t.match(tooFar, { chat_id: room, last_seq: 10, head_seq: total });
  t.same(late.messages(room), [], 'nothing was replayed');
  const page = await stack.http(gw2!, 'GET', `/api/chats/${room}/messages?after=10&limit=100`, stack.token('late'));
  t.equal(page.body.messages.at(-1).seq, 11, 'history pages from the last seen seq');
  const live = await s2.sendMessage(room, 'after the gap', 'after-gap');
  t.match(live, { type: 'ack', seq: total + 1 });
  const next = await late.waitForSeq(room, total + 1);
  t.equal(next.seq, total + 1, 'live messages continue after head_seq');
});

t.test('SIGKILL a gateway under load: its clients reconnect to the others and resume; the checker finds 0 lost', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 1 });
  let alive = [...stack.gateways];
  let turn = 0;
  const users = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
  const rooms = new Map([
    [await stack.createGroup('k0', users.slice(1)), users],
    [await stack.createGroup('k1', ['k2', 'k4']), ['k1', 'k2', 'k4']],
  ]);
  const load = await ChatLoad.start(stack, { rooms, url: () => alive[turn++ % alive.length]!.wsUrl, inFlight: 2 });
  t.teardown(() => load.close());
  await load.flowing(300, 'load flowing');

  const [victim] = alive;
  alive = alive.slice(1);
  const sockets = victim!.child.lines.filter((l) => l.includes('"msg":"socket open"')).length;
  await victim!.child.kill('SIGKILL');
  await load.flowing(300, 'load flowing on the survivors');
  t.comment(`gateway 1 killed holding ${sockets} of ${users.length} clients' sockets; ${load.reconnects()} reconnects`);
  t.ok(sockets >= 1 && load.reconnects() >= sockets, 'each of its clients reconnected');
  await load.check(t);
});
