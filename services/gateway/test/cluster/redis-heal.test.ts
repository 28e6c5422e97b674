import t from 'tap';
import { callParley, ChatLoad, eventually, Stack, TestClient } from '@parley/testkit';
import { slotOf } from '@parley/redis';

/**
 * Issue 38: a master SIGKILLed under load and left dead, as a crashed machine is, in the topology
 * infra/cluster.sh runs (two replicas per master, `min-replicas-to-write 1`). One replica is
 * promoted and the other follows it, so the promoted master still has a replica to count: every
 * partition of the dead master takes writes again within 15 s of the kill, with nobody restarting
 * anything, and its rooms' history stays readable. With REDIS_WAIT_REPLICAS=1, nothing acked is
 * lost or stored twice, and order holds. When the dead node is started again it joins as a
 * replica, and `parley status` says the topology is whole again.
 */
const SEND_TIMEOUT_MS = 3000;
/** Answers later than SEND_TIMEOUT_MS by more than this fail: timers fire late on a busy machine, not seconds late. */
const SLACK_MS = 1500;

t.test('a master SIGKILLed and left dead, two replicas each: its rooms take writes within 15 s, 0 acked lost', async (t) => {
  const stack = await Stack.start(t, {
    redis: 'cluster',
    redisReplicas: 2,
    redisArgs: ['--min-replicas-to-write', '1'],
    gateways: 2,
    persisters: 1,
    env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000', SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS) },
  });
  const { load, rooms } = await ChatLoad.inRooms(t, stack, ['h0', 'h1', 'h2', 'h3'], 6);
  const victim = await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(rooms[0]!)));
  const onVictim: number[] = [];
  for (const room of rooms) if ((await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(room)))) === victim) onVictim.push(room);
  // A room of the dead master's outside the load (whose checker accounts for every stored message)
  // takes one raw send a quarter second, over the socket and REST: each must be answered within
  // SEND_TIMEOUT_MS, with an ack or SERVICE_UNAVAILABLE and when to retry.
  let probeRoom: number | undefined;
  while (probeRoom === undefined) {
    const room = await stack.createGroup('h0', ['h1']);
    if ((await stack.redisCluster.masterOf(slotOf(stack.keys.roomMeta(room)))) === victim) probeRoom = room;
  }
  const { client: prober } = await TestClient.open(stack.gateways[1]!.wsUrl, stack.token('h1'));
  t.teardown(() => prober.close());
  await prober.barrier();
  const answers: Array<Promise<{ via: string; ms: number; answer: string }>> = [];
  let probing = true;
  const probe = (async () => {
    for (let i = 0; probing; i++) {
      const at = Date.now();
      const frame = { type: 'send_message' as const, chat_id: probeRoom, client_id: `ws-${i}`, message_type: 'text' as const, content: `ws ${i}` };
      prober.send(frame);
      answers.push(
        prober
          .find((f) => (f.type === 'ack' || f.type === 'error') && f.client_id === frame.client_id, 30_000)
          .then((f) => ({ via: 'ws', ms: Date.now() - at, answer: f.type === 'error' ? `${f.code} ${f.retry_after_ms ?? '-'}` : f.type })),
        stack
          .http(stack.gateways[0]!, 'POST', `/api/chats/${probeRoom}/messages`, stack.token('h1'), {
            client_id: `rest-${i}`,
            message_type: 'text',
            content: `rest ${i}`,
          })
          .then((r) => ({ via: 'rest', ms: Date.now() - at, answer: r.status < 300 ? 'ack' : `${r.body.code} ${r.body.retry_after_ms ?? '-'}` })),
      );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
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
  probing = false;
  await Promise.all([reader, probe]);
  const answered = await Promise.all(answers);
  const slowest = Math.max(...answered.map((a) => a.ms));
  const refused = answered.filter((a) => a.answer !== 'ack');
  t.comment(
    `${answered.length} raw sends into a room of the dead master: ${refused.length} refused (${[...new Set(refused.map((a) => a.answer))].join(', ')}), the slowest answered in ${slowest} ms`,
  );
  t.ok(slowest <= SEND_TIMEOUT_MS + SLACK_MS, `every send answered within SEND_TIMEOUT_MS (${SEND_TIMEOUT_MS} ms): the slowest in ${slowest} ms`);
  t.ok(
    refused.every((a) => a.answer === 'SERVICE_UNAVAILABLE 1000'),
    'each refusal SERVICE_UNAVAILABLE, with when to retry',
  );
  const during = reads.filter((r) => r.at >= killedAt);
  t.comment(`history reads during the failover: ${during.map((r) => `${r.status} in ${r.ms} ms`).join(', ')}`);
  t.ok(
    during.length > 0 && during.every((r) => r.status === 200),
    `the room's history read throughout (${during.length} reads, from Postgres while Redis could not answer)`,
  );
  t.ok(healedMs <= 15_000, `the dead master's rooms took writes again ${(healedMs / 1000).toFixed(1)} s after the kill (<= 15 s)`);
  await load.flowing(300, 'load flowing after the failover', 60_000);
  await load.check(t);
  t.same(load.errors, [], `no send of the SDK's failed for good (${load.retries.length} refused for now, sent again)`);

  // The dead node's replacement (here the same node, started again on its data) joins as a replica
  // of the promoted master, and the topology is whole again.
  const env = { REDIS_CLUSTER_NODES: stack.redisCluster.seeds.map((s) => s.replace('redis://', '')).join(',') };
  const before = (await callParley(env, 'status', '--json')).json;
  t.match(before.redis, { mode: 'cluster', whole: false, failed: [`127.0.0.1:${victim}`] }, 'parley status: not whole, the dead node failed');
  await stack.redisCluster.restart(victim);
  const after = await eventually(
    async () => {
      const { redis } = (await callParley(env, 'status', '--json')).json;
      return redis.whole && redis;
    },
    30_000,
    'parley status: whole again',
  );
  t.same(
    after.masters.map((m: { replicas: unknown[] }) => m.replicas.length),
    [2, 2, 2],
    `whole again: 3 masters with 2 replicas each, the restarted :${victim} among them`,
  );
  t.ok(
    after.masters.some((m: { replicas: Array<{ address: string }> }) => m.replicas.some((r) => r.address === `127.0.0.1:${victim}`)),
    'the restarted node is a replica',
  );
});
