import t from 'tap';
import { ChatLoad, eventually, Stack } from '@parley/testkit';
import { slotOf } from '@parley/redis';

/**
 * Issue 38: a master SIGKILLed under load and left dead, as a crashed machine is, in the topology
 * infra/cluster.sh runs (two replicas per master, `min-replicas-to-write 1`). One replica is
 * promoted and the other follows it, so the promoted master still has a replica to count: every
 * partition of the dead master takes writes again within 15 s of the kill, with nobody restarting
 * anything, and its rooms' history stays readable. With REDIS_WAIT_REPLICAS=1, nothing acked is
 * lost or stored twice, and order holds.
 */
t.test('a master SIGKILLed and left dead, two replicas each: its rooms take writes within 15 s, 0 acked lost', async (t) => {
  const stack = await Stack.start(t, {
    redis: 'cluster',
    redisReplicas: 2,
    redisArgs: ['--min-replicas-to-write', '1'],
    gateways: 2,
    persisters: 1,
    env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' },
  });
  const { load, rooms } = await ChatLoad.inRooms(t, stack, ['h0', 'h1', 'h2', 'h3'], 6);
  const victim = await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(rooms[0]!)));
  const onVictim: number[] = [];
  for (const room of rooms) if ((await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(room)))) === victim) onVictim.push(room);
  // A reader of the dead master's first room pages its history throughout: from Postgres alone
  // while Redis cannot answer for the room.
  const reads: Array<{ status: number; ms: number; at: number }> = [];
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const at = Date.now();
      const page = await stack.http(stack.gateways[0]!, 'GET', `/api/chats/${onVictim[0]}/messages?limit=20`, stack.token('h1'));
      reads.push({ status: page.status, ms: Date.now() - at, at });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const killedAt = Date.now();
  await stack.redisCluster.nodes.find((n) => n.port === victim)!.child.kill('SIGKILL');
  await eventually(
    async () => (await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(rooms[0]!))).catch(() => victim)) !== victim,
    30_000,
    'a replica promoted',
  );
  const promotedAt = Date.now();
  // Acked after the promotion was seen: appended on the new master, which had to meet min-replicas-to-write.
  const writtenAgain = () => onVictim.every((room) => load.acked.some((a) => a.room === room && a.at > promotedAt));
  await eventually(writtenAgain, 60_000, "every room of the dead master's partitions written again");
  const healedMs = Date.now() - killedAt;
  t.comment(
    `master :${victim} killed and left dead; replica promoted after ${((promotedAt - killedAt) / 1000).toFixed(1)} s; its ${onVictim.length} rooms written again after ${(healedMs / 1000).toFixed(1)} s`,
  );
  reading = false;
  await reader;
  const during = reads.filter((r) => r.at >= killedAt);
  t.comment(`history reads during the failover: ${during.map((r) => `${r.status} in ${r.ms} ms`).join(', ')}`);
  t.ok(
    during.length > 0 && during.every((r) => r.status === 200),
    `the room's history read throughout (${during.length} reads, from Postgres while Redis could not answer)`,
  );
  t.ok(healedMs <= 15_000, `the dead master's rooms took writes again ${(healedMs / 1000).toFixed(1)} s after the kill (<= 15 s)`);
  await load.flowing(300, 'load flowing after the failover', 60_000);
  await load.check(t);
});
