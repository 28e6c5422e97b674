import t from 'tap';
import { ChatLoad, Stack, eventually } from '@parley/testkit';

/**
 * Sentinel mode, REDIS_WAIT_REPLICAS=1: the master SIGKILLed under load; the Sentinels promote the
 * replica, the gateways and persisters follow it (ioredis asks the Sentinels), and the old master
 * comes back as the new one's replica. An ack meant "on the replica too": none is lost.
 */
t.test('Sentinel: master SIGKILLed under load; the services follow the new master, and with WAIT nothing acked is lost', async (t) => {
  const stack = await Stack.start(t, { redis: 'sentinel', gateways: 2, persisters: 1, env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000' } });
  const { load } = await ChatLoad.inRooms(t, stack, ['s0', 's1', 's2'], 3);

  const sentinel = stack.redisSentinel;
  const old = await sentinel.masterPort();
  const killedAt = Date.now();
  const ackedAtKill = load.acked.length;
  await sentinel.servers.find((s) => s.port === old)!.child.kill('SIGKILL');
  await eventually(async () => (await sentinel.masterPort()) !== old, 30_000, 'the Sentinels promoted the replica');
  const promotedAt = Date.now();
  // Back as the new master's replica (the Sentinels reconfigure it), so that WAIT 1 can be met again.
  await sentinel.restart(old);
  await eventually(() => load.acked.length > ackedAtKill + 10, 60_000, 'acks again');
  t.comment(
    `master :${old} killed; replica promoted after ${((promotedAt - killedAt) / 1000).toFixed(1)} s; acked again after ${((Date.now() - killedAt) / 1000).toFixed(1)} s (WAIT 1: once the old master is the new one's replica)`,
  );
  await load.flowing(300, 'load flowing on the new master', 60_000);
  // The new master's run_id differs from the one recorded in the data: its heads were checked
  // against Postgres (by whichever gateway got there first; the others found it done).
  const checkedAfter = stack.gateways
    .flatMap((g) => g.child.lines)
    .filter((l) => /room heads (reconciled with a new Redis|raised to Postgres)/.test(l) && (JSON.parse(l) as { time: number }).time >= killedAt);
  t.ok(checkedAfter.length >= 1, 'the heads were checked against Postgres on the new master');
  await load.check(t);
});
