import t from 'tap';
import { ChatLoad, Stack, TestClient } from '@parley/testkit';
import { slotOf } from '@parley/redis';

/**
 * A room's slot moved from one master to another under load, by hand as `redis-cli --cluster
 * reshard` does it: IMPORTING on the target, MIGRATING on the source, MIGRATE of its keys (the
 * room's log, meta, members, the partition's event stream with its consumer group), then NODE
 * everywhere. Appends meanwhile are retried (ASK, TRYAGAIN); the sharded subscribers are pushed off
 * the slot and resubscribe. The checker finds nothing lost and every client gapless, in order.
 */
t.test('a slot moved under load: 0 acked lost, no client sees a gap, the room is relayed again', async (t) => {
  const stack = await Stack.start(t, { redis: 'cluster', gateways: 2, persisters: 1, env: { RELAY_PROBE_INTERVAL_MS: '1000' } });
  const users = ['m0', 'm1', 'm2', 'm3'];
  const { load, rooms } = await ChatLoad.inRooms(t, stack, users, 4);

  const cluster = stack.redisCluster;
  const room = rooms[0]!;
  const slot = slotOf(stack.keys.roomMeta(room));
  const source = await cluster.masterOf(slot);
  const others = new Set<number>();
  for (let s = 0; s < 16384; s += 5461) others.add(await cluster.masterOf(s));
  const target = [...others].find((p) => p !== source)!;
  const id = async (port: number) => (await cluster.cli(port, 'CLUSTER', 'MYID')).trim();
  const [sourceId, targetId] = [await id(source), await id(target)];

  // A member's raw socket on each gateway, watching the room across the move.
  const watchers = await Promise.all(stack.gateways.map((g, i) => TestClient.open(g.wsUrl, stack.token(users[i + 1]!)).then((o) => o.client)));
  const started = Date.now();
  await cluster.cli(target, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
  await cluster.cli(source, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
  let moved = 0;
  for (;;) {
    const keys = (await cluster.cli(source, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')).split('\n').filter(Boolean);
    if (keys.length === 0) break;
    await cluster.cli(source, 'MIGRATE', '127.0.0.1', String(target), '', '0', '5000', 'KEYS', ...keys);
    moved += keys.length;
  }
  for (const port of [target, source, ...others]) await cluster.cli(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId);
  const migratedAt = Date.now();
  t.equal(await cluster.masterOf(slot), target, `slot ${slot} now on :${target}`);
  t.comment(`slot ${slot} (room ${room}'s partition, ${moved} keys) moved :${source} → :${target} in ${migratedAt - started} ms under load`);

  // The room is relayed again: the load's next messages in it reach the watchers, subscribed since before the move.
  const ackedBefore = Math.max(0, ...load.acked.filter((a) => a.room === room).map((a) => a.seq));
  await Promise.all(watchers.map((w) => w.find((f) => f.type === 'message' && f.chat_id === room && f.seq > ackedBefore, 20_000)));
  t.comment(
    `the room's new messages reached both gateways ${Date.now() - migratedAt} ms after the move (bound: 2 × RELAY_PROBE_INTERVAL_MS for a subscription lost silently)`,
  );
  await Promise.all(watchers.map((c) => c.close()));

  await load.flowing(300, 'load flowing after the move', 60_000);
  await load.check(t);
});
