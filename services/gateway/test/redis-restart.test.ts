import t from 'tap';
import { ChatLoad, Stack } from '@parley/testkit';

/**
 * Issue 11, fault 4: Redis is SIGKILLed under load and started again from its AOF, under each fsync
 * policy. Gateways and the persister reconnect; clients re-send what was not acked (same client_id)
 * and resume. The checker accounts for every acked message after the drain.
 *
 * A SIGKILL of the Redis process alone loses nothing under either policy: Redis write()s the AOF
 * before it replies, so an acked append is in the kernel's page cache when the process dies. What
 * `everysec` can lose is the last second of page cache when the machine dies (docs/operations.md).
 */
for (const policy of ['everysec', 'always'] as const) {
  t.test(`Redis SIGKILLed under load and restarted from its AOF (appendfsync ${policy}): no acked message lost`, async (t) => {
    const stack = await Stack.start(t, { gateways: 2, persisters: 1, redisArgs: ['--appendfsync', policy] });
    let turn = 0;
    const rooms = new Map([
      [await stack.createGroup('a0', ['a1', 'a2']), ['a0', 'a1', 'a2']],
      [await stack.createGroup('b0', ['b1', 'a0']), ['b0', 'b1', 'a0']],
    ]);
    const load = await ChatLoad.start(stack, { rooms, url: () => stack.gateways[turn++ % 2]!.wsUrl, inFlight: 2 });
    t.teardown(() => load.close());

    await load.flowing(300, 'load flowing');
    const ackedBefore = load.acked.length;
    // Down until every gateway has seen its connections fail: sends meanwhile wait or are refused.
    const lines = stack.gateways.map((g) => g.child.lines.length);
    const killedAt = Date.now();
    await stack.redisServer.restart(() =>
      Promise.all(stack.gateways.map((g, i) => g.child.waitFor((l) => l.includes('redis connection error') && g.child.lines.indexOf(l) >= lines[i]!))),
    );
    const restartedAt = Date.now();
    await load.flowing(300, 'load flowing after the restart', 60_000);
    t.comment(
      `Redis killed after ${ackedBefore} acks, back ${restartedAt - killedAt} ms later; ${load.acked.length - ackedBefore} more acked within ${Date.now() - restartedAt} ms of its restart`,
    );

    const figures = await load.check(t);
    t.equal(figures.lost, 0, `appendfsync ${policy}: 0 acked messages lost to a Redis SIGKILL`);
  });
}
