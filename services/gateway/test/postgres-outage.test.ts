import t from 'tap';
import { ChatLoad, eventually, Stack } from '@parley/testkit';

/**
 * Issue 11, fault 3: Postgres stops (`pg_ctl -m immediate`) under load, then starts. Messages go on
 * being acked and delivered meanwhile (appends need only Redis; membership is cached), the stream
 * holds the backlog, and the persister drains it once Postgres is back. The outage lasts until the
 * persister has failed its way up to its longest pause between retries (5 s), the state a long
 * outage leaves it in, and 250 sends more were acked: an event to await, not a fixed 30 s.
 */
t.test('Postgres down under load: real-time delivery goes on, the backlog drains after', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  let turn = 0;
  const rooms = new Map([
    [await stack.createGroup('p0', ['p1', 'p2']), ['p0', 'p1', 'p2']],
    [await stack.createGroup('q0', ['q1']), ['q0', 'q1']],
  ]);
  const load = await ChatLoad.start(stack, { rooms, url: () => stack.gateways[turn++ % 2]!.wsUrl, perSecond: 50 });
  t.teardown(() => load.close());
  await load.flowing(100, 'load flowing');

  let during = { acked: 0, delivered: 0, backlog: 0, ms: 0 };
  const longestPause = (line: string) => /"retryInMs":5000\b/.test(line) && line.includes('persist failed; retrying');
  await stack.pgServer.restart(async () => {
    const stoppedAt = Date.now();
    const acked = load.acked.length;
    const delivered = load.delivered();
    await Promise.all([load.flowing(250, 'acks while Postgres is down'), stack.persisters[0]!.waitFor(longestPause, 120_000)]);
    during = { acked: load.acked.length - acked, delivered: load.delivered() - delivered, backlog: await stack.streamLength(), ms: Date.now() - stoppedAt };
  });
  t.comment(`during the ${during.ms} ms outage: ${during.acked} messages acked, ${during.delivered} delivered, stream backlog ${during.backlog}`);
  t.ok(during.acked >= 250, 'sends were acked while Postgres was down');
  t.ok(during.delivered >= during.acked, 'and delivered to the other members in real time');
  t.ok(during.backlog >= during.acked, 'the stream held what could not be persisted');

  const restartedAt = Date.now();
  await eventually(async () => (await stack.streamLength()) < 50, 60_000, 'backlog draining');
  t.comment(`the persister drained the backlog to under 50 entries ${Date.now() - restartedAt} ms after Postgres came back`);
  await load.flowing(100, 'load flowing after the outage');
  await load.check(t);
});
