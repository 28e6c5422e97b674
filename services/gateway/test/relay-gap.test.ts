import t from 'tap';
import { ChatLoad, Stack, TestClient } from '@parley/testkit';

t.test('a gateway whose Redis subscription dropped backfills what pub/sub lost', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  const [gw1, gw2] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob']);
  const { client: bob } = await TestClient.open(gw1!.wsUrl, stack.token('bob'));
  const { client: alice } = await TestClient.open(gw2!.wsUrl, stack.token('alice'));
  t.teardown(() => Promise.all([bob.close(), alice.close()]));
  t.match(await alice.sendMessage(room, 'before', 'b-0'), { type: 'ack', seq: 1 });
  await bob.waitForSeq(room, 1);

  // Cut gateway 1's subscriber and keep it from reconnecting while messages are published.
  const clients = (await stack.redis.client('LIST')) as string;
  const subscriberId = /id=(\d+) [^\n]*name=gateway-sub:/.exec(clients.split('\n').find((l) => l.includes(`name=gateway-sub:${gw1!.nodeId}`)) ?? '')?.[1];
  t.ok(subscriberId, 'found gateway 1 subscriber connection');
  await stack.redis.config('SET', 'requirepass', 'closed-for-a-moment');
  await stack.redis.client('KILL', 'ID', subscriberId!);
  await gw1!.child.waitFor(/redis subscriber|redis connection error/);
  for (let i = 1; i <= 10; i++) t.match(await alice.sendMessage(room, `during ${i}`, `d-${i}`), { type: 'ack', seq: i + 1 });
  await stack.redis.config('SET', 'requirepass', '');

  await bob.waitForSeq(room, 11);
  t.same(
    bob.messages(room).map((m) => m.seq),
    Array.from({ length: 11 }, (_, i) => i + 1),
    'every message once, in order',
  );
  // The log line and the frames travel on different pipes: await the line rather than expect it already read.
  t.match(await gw1!.child.waitFor(/backfilled a relay gap/), /"found":\d+/, 'gateway 1 backfilled from the room log');
  t.match(await alice.sendMessage(room, 'after', 'a-1'), { type: 'ack', seq: 12 });
  await bob.waitForSeq(room, 12);
  t.same(
    bob
      .messages(room)
      .map((m) => m.seq)
      .slice(-2),
    [11, 12],
    'live delivery goes on',
  );
});

t.test('Redis disconnects a stalled subscriber past client-output-buffer-limit pubsub: the gateway resubscribes and backfills', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  const [gw1, gw2] = stack.gateways;
  await stack.redis.config('SET', 'client-output-buffer-limit', 'pubsub 1mb 512kb 1');
  // Receivers r0 and r1 are on gateway 1; the senders s0 and s1 on gateway 2.
  const rooms = new Map([[await stack.createGroup('s0', ['s1', 'r0', 'r1']), ['s0', 's1', 'r0', 'r1']]]);
  const load = await ChatLoad.start(stack, { rooms, url: (user) => (user.startsWith('r') ? gw1! : gw2!).wsUrl, inFlight: 2, contentChars: 4000 });
  t.teardown(() => load.close());
  await load.flowing(100, 'load flowing');

  // Gateway 1 stalls (as in a long GC pause): its subscription backs up in Redis until Redis cuts it.
  gw1!.child.proc.kill('SIGSTOP');
  t.teardown(() => gw1!.child.proc.kill('SIGCONT'));
  const stalledAt = Date.now();
  await stack.redisServer.child.waitFor(/overcoming of output buffer limits/, 60_000);
  const cutAfterMs = Date.now() - stalledAt;
  gw1!.child.proc.kill('SIGCONT');
  const backfill = await gw1!.child.waitFor(/backfilled a relay gap/);
  t.comment(`Redis cut gateway 1's subscription ${cutAfterMs} ms into its stall; then ${backfill.match(/"found":\d+/)?.[0] ?? ''}`);
  await load.flowing(100, 'load flowing after the gateway resubscribed');
  await load.check(t);
});
