import t from 'tap';
import { ChatLoad, eventually, Stack } from '@parley/testkit';

/**
 * Issue 11, fault 3: Postgres stops (`pg_ctl -m immediate`) for 30 seconds under load, then starts.
 * Messages go on being acked and delivered meanwhile (appends need only Redis; membership is
 * cached), the stream holds the backlog, and the persister drains it once Postgres is back.
 */
t.test('Postgres down 30 s under load: real-time delivery goes on, the backlog drains after', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  let turn = 0;
  const rooms = new Map([
    [await stack.createGroup('p0', ['p1', 'p2']), ['p0', 'p1', 'p2']],
    [await stack.createGroup('q0', ['q1']), ['q0', 'q1']],
  ]);
  const load = await ChatLoad.start(stack, { rooms, url: () => stack.gateways[turn++ % 2]!.wsUrl, perSecond: 50 });
  t.teardown(() => load.close());
  await load.flowing(100, 'load flowing');

  const outageMs = 30_000;
  let during = { acked: 0, delivered: 0, backlog: 0 };
  await stack.pgServer.restart(async () => {
    const stoppedAt = Date.now();
    const acked = load.acked.length;
    const delivered = load.delivered();
    await load.flowing(250, 'acks while Postgres is down');
    // The outage lasts its 30 s whatever the load does: that is the fault under test.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageMs - (Date.now() - stoppedAt))));
    during = { acked: load.acked.length - acked, delivered: load.delivered() - delivered, backlog: await stack.streamLength() };
  });
  t.comment(`during the ${outageMs / 1000} s outage: ${during.acked} messages acked, ${during.delivered} delivered, stream backlog ${during.backlog}`);
  t.ok(during.acked >= 250, 'sends were acked while Postgres was down');
  t.ok(during.delivered >= during.acked, 'and delivered to the other members in real time');
  t.ok(during.backlog >= during.acked, 'the stream held what could not be persisted');

  const restartedAt = Date.now();
  await eventually(async () => (await stack.streamLength()) < 50, 60_000, 'backlog draining');
  t.comment(`the persister drained the backlog to under 50 entries ${Date.now() - restartedAt} ms after Postgres came back`);
  await load.flowing(100, 'load flowing after the outage');
  await load.check(t);
});
