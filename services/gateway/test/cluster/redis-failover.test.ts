import t from 'tap';
import { ChatLoad, Stack, eventually, scrape, type Assertions } from '@parley/testkit';
import { slotOf } from '@parley/redis';

/**
 * The failover both tests share: the master of `room`'s slot has its replica cut off (SIGSTOPped,
 * its link dropped), so that nothing the master writes from then on reaches the replica that will
 * be promoted; `whileCut` runs; then the master is SIGKILLed, the replica resumed and promoted, and
 * the old master restarted as its replica. Resolves once the room is written again, printing how
 * long its partition was unwritable, with when the replica was seen promoted.
 */
async function failover(
  t: Assertions,
  stack: Stack,
  load: ChatLoad,
  room: number,
  whileCut: (victim: number) => Promise<void>,
): Promise<{ promotedAt: number }> {
  const slot = slotOf(stack.keys.roomMeta(room));
  const victim = await stack.redisCluster.masterOf(slot);
  const node = stack.redisCluster.nodes.find((n) => n.port === victim)!;
  const [replicaPort] = await stack.redisCluster.replicasOf(victim);
  const replica = stack.redisCluster.nodes.find((n) => n.port === replicaPort)!;
  replica.child.proc.kill('SIGSTOP');
  await stack.redisCluster.cli(victim, 'CLIENT', 'KILL', 'TYPE', 'replica');
  await whileCut(victim);
  const killedAt = Date.now();
  await node.child.kill('SIGKILL');
  replica.child.proc.kill('SIGCONT');
  // Acks of that room stop until a replica is promoted and the gateways have checked it.
  const before = load.acked.filter((a) => a.room === room).length;
  // Until then no live master serves the slot: masterOf throws.
  await eventually(async () => (await stack.redisCluster.masterOf(slot).catch(() => victim)) !== victim, 30_000, 'a replica promoted');
  const promotedAt = Date.now();
  // The old master comes back as the new one's replica (so that WAIT 1 can be met again).
  await stack.redisCluster.restart(victim);
  await eventually(async () => load.acked.filter((a) => a.room === room).length > before, 60_000, 'the room written again');
  t.comment(
    `master :${victim} killed; replica promoted after ${((promotedAt - killedAt) / 1000).toFixed(1)} s; the room's partition took writes again after ${((Date.now() - killedAt) / 1000).toFixed(1)} s`,
  );
  return { promotedAt };
}

/** Acks so far in the rooms whose slots `port` serves. */
async function ackedOn(stack: Stack, load: ChatLoad, rooms: number[], port: number): Promise<() => number> {
  const on = new Set<number>();
  for (const room of rooms) if ((await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(room)))) === port) on.add(room);
  return () => load.acked.filter((a) => on.has(a.room)).length;
}

/**
 * With REDIS_WAIT_REPLICAS=1 an ack means the event is on a replica too, so the promoted replica has
 * every acked message: appends to the cut-off master wait for a replica and time out unacked.
 */
t.test('a master SIGKILLed under load with REDIS_WAIT_REPLICAS=1: 0 acked lost, 0 duplicated, order kept', async (t) => {
  const stack = await Stack.start(t, { redis: 'cluster', gateways: 2, persisters: 1, env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' } });
  const { load, rooms } = await ChatLoad.inRooms(t, stack, ['f0', 'f1', 'f2', 'f3'], 6);
  await failover(t, stack, load, rooms[0]!, async () => {
    await eventually(
      async () =>
        (await Promise.all(stack.gateways.map(async (g) => (await scrape(`${g.url}/metrics`)).value('parley_replica_wait_timeouts_total') ?? 0))).some(
          (n) => n > 0,
        ),
      20_000,
      'an append refused for want of a replica',
    );
  });
  await load.flowing(300, 'load flowing after the failover', 60_000);
  await load.check(t);
});

/**
 * Without WAIT the cut-off master goes on acking what its replica never gets. The persister stops
 * (SIGTERM: it ends its batch) for part of that, so some of it is in neither the promoted replica
 * nor Postgres: lost. A new persister starts after the failover.
 * The test prints how many; every client that had been given a lost message is told (chat_rewound
 * below it) and ends with what is stored; nothing acked once the replica is promoted is lost (a seq
 * Postgres holds, handed out again by the new master, would be: the persister drops its message as
 * a conflict). Acks of the old master may still arrive in the instant after its SIGKILL.
 */
t.test('a master SIGKILLed after a replica stall without WAIT: the loss is counted, its receivers rewound, no stored seq reused', async (t) => {
  const stack = await Stack.start(t, { redis: 'cluster', gateways: 2, persisters: 1 });
  const { load, rooms } = await ChatLoad.inRooms(t, stack, ['n0', 'n1', 'n2', 'n3'], 6);
  const { promotedAt } = await failover(t, stack, load, rooms[0]!, async (victim) => {
    const acked = await ackedOn(stack, load, rooms, victim);
    let from = acked();
    await eventually(() => acked() >= from + 100, 30_000, 'acks from the cut-off master');
    await stack.persisters[0]!.kill('SIGTERM');
    from = acked();
    await eventually(() => acked() >= from + 100, 30_000, 'acks the persister did not take');
  });
  await stack.addPersister('persister2');
  await load.flowing(300, 'load flowing after the failover', 60_000);
  const figures = await load.check(t, { loss: 'counted', lostAfter: promotedAt });
  t.ok(figures.lost > 0, `the stall cost ${figures.lost} acked messages`);
  t.ok(figures.givenLost > 0 && figures.rewinds > 0, `${figures.rewinds} chat_rewound events for ${figures.givenLost} lost messages given to clients`);
});
