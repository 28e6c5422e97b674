import t from 'tap';
import { eventually, Stack } from '@parley/testkit';

/**
 * A persister's stop waits for the batch in hand, its acks and the closing of its connections: a
 * Redis that answers nothing (SIGSTOPped here; a node cut off by a partition, in a cluster) would
 * hold it for ever. SHUTDOWN_TIMEOUT_MS bounds it, as it bounds a gateway's drain.
 */
t.test('a persister whose stop cannot finish in SHUTDOWN_TIMEOUT_MS exits anyway, with status 1', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const persister = await stack.addPersister('persister1', { SHUTDOWN_TIMEOUT_MS: '1000' });
  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  const started = Date.now();
  void persister.kill('SIGTERM');
  const { code } = await eventually(() => persister.exitInfo, 10_000, 'the persister to exit');
  const took = Date.now() - started;
  t.equal(code, 1, 'exit status 1');
  t.ok(took >= 900 && took < 5000, `exited after ${took} ms (timeout 1000 ms)`);
  t.ok(
    persister.lines.some((l) => l.includes('stop timed out')),
    'logged',
  );
});
