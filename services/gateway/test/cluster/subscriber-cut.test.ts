import t from 'tap';
import { Stack, TestClient } from '@parley/testkit';
import { slotOf } from '@parley/redis';

/**
 * relay-gap.test.ts on a Redis Cluster: a gateway's sharded subscriber connection to the room's
 * master is cut, and kept from reconnecting while messages are published. ioredis rebuilds the
 * master's subscriber when it can; the hub catches the room up on `subscribersReady`.
 */
t.test('on a Redis Cluster: a gateway whose sharded subscription was cut backfills what pub/sub lost', async (t) => {
  const stack = await Stack.start(t, { redis: 'cluster', gateways: 2, persisters: 1 });
  const [gw1, gw2] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob']);
  const { client: bob } = await TestClient.open(gw1!.wsUrl, stack.token('bob'));
  const { client: alice } = await TestClient.open(gw2!.wsUrl, stack.token('alice'));
  t.teardown(() => Promise.all([bob.close(), alice.close()]));
  t.match(await alice.sendMessage(room, 'before', 'b-0'), { type: 'ack', seq: 1 });
  await bob.waitForSeq(room, 1);

  const cluster = stack.redisCluster;
  const master = await cluster.masterOf(slotOf(stack.keys.roomChannel(room)));
  const clients = await cluster.cli(master, 'CLIENT', 'LIST');
  const line = clients.split('\n').find((l) => l.includes(`name=ioredis-cluster(ssubscriber):gateway-sub:${gw1!.nodeId}`));
  const subscriberId = /id=(\d+) /.exec(line ?? '')?.[1];
  t.ok(subscriberId, "found gateway 1's sharded subscriber on the room's master");
  const password = 'closed-for-a-moment';
  await cluster.cli(master, 'CONFIG', 'SET', 'requirepass', password);
  await cluster.cli(master, '-a', password, '--no-auth-warning', 'CLIENT', 'KILL', 'ID', subscriberId!);
  for (let i = 1; i <= 10; i++) t.match(await alice.sendMessage(room, `during ${i}`, `d-${i}`), { type: 'ack', seq: i + 1 });
  await cluster.cli(master, '-a', password, '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', '');

  await bob.waitForSeq(room, 11);
  t.same(
    bob.messages(room).map((m) => m.seq),
    Array.from({ length: 11 }, (_, i) => i + 1),
    'every message once, in order',
  );
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
