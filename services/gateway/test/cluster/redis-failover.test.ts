import t from 'tap';
import { ChatLoad, Stack, eventually, scrape } from '@parley/testkit';
import { slotOf } from '@parley/redis';

/**
 * A Redis Cluster master SIGKILLed under load, with REDIS_WAIT_REPLICAS=1: an ack means the event is
 * on a replica too, so the promoted replica has every acked message. Its replica is cut off first
 * (SIGSTOPped, its link dropped), so that without WAIT the master would ack events the replica never
 * gets: those would be lost. The checker finds none lost or duplicated and every room in order; the test prints how
 * long the partition refused writes.
 */
t.test('a master SIGKILLed under load with REDIS_WAIT_REPLICAS=1: 0 acked lost, 0 duplicated, order kept', async (t) => {
  const stack = await Stack.start(t, { redis: 'cluster', gateways: 2, persisters: 1, env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' } });
  const { load, rooms } = await ChatLoad.inRooms(t, stack, ['f0', 'f1', 'f2', 'f3'], 6);

  // The master of the first room's slot: its rooms cannot be written until its replica takes over.
  const room = rooms[0]!;
  const slot = slotOf(stack.keys.roomMeta(room));
  const victim = await stack.redisCluster.masterOf(slot);
  const node = stack.redisCluster.nodes.find((n) => n.port === victim)!;
  const replicaPort = await stack.redisCluster.replicaOf(victim);
  const stalled = stack.redisCluster.nodes.find((n) => n.port === replicaPort)!;
  // The replica stalls and the master drops its link: nothing the master writes from here reaches
  // the replica that will be promoted. Appends to the victim's partitions wait for it, and time out unacked.
  stalled.child.proc.kill('SIGSTOP');
  await stack.redisCluster.cli(victim, 'CLIENT', 'KILL', 'TYPE', 'replica');
  await eventually(async () => (await Promise.all(stack.gateways.map(async (g) => (await scrape(`${g.url}/metrics`)).value('parley_replica_wait_timeouts_total') ?? 0))).some((n) => n > 0), 20_000, 'an append refused for want of a replica');
  const killedAt = Date.now();
  await node.child.kill('SIGKILL');
  stalled.child.proc.kill('SIGCONT');
  // Acks of that room stop until a replica is promoted and the gateways have checked it.
  const before = load.acked.filter((a) => a.room === room).length;
  // Until then no live master serves the slot: masterOf throws.
  await eventually(async () => (await stack.redisCluster.masterOf(slot).catch(() => victim)) !== victim, 30_000, 'a replica promoted');
  const promotedAt = Date.now();
  // The old master comes back as the new one's replica, so that WAIT 1 can be met again.
  await stack.redisCluster.restart(victim);
  await eventually(async () => load.acked.filter((a) => a.room === room).length > before, 60_000, 'the room written again');
  t.comment(`master :${victim} killed; replica promoted after ${((promotedAt - killedAt) / 1000).toFixed(1)} s; the room's partition took writes again after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`);
  await load.flowing(300, 'load flowing after the failover', 60_000);
  await load.check(t);
});
