import t from 'tap';
import { Stack } from '@parley/testkit';

t.test('liveness, and readiness that fails while Redis or Postgres is unreachable', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0 });
  const [gw] = stack.gateways;
  t.match(await stack.http(gw!, 'GET', '/health/live'), { status: 200, body: { status: 'ok', node_id: gw!.nodeId } });
  t.match(await stack.http(gw!, 'GET', '/health/ready'), { status: 200, body: { status: 'ready', checks: { redis: true, postgres: true } } });

  await stack.pgServer.child.kill('SIGQUIT');
  t.match(await stack.http(gw!, 'GET', '/health/ready'), { status: 503, body: { status: 'unready', checks: { redis: true, postgres: false } } });
  await stack.redisServer.child.kill('SIGKILL');
  t.match(await stack.http(gw!, 'GET', '/health/ready'), { status: 503, body: { checks: { redis: false, postgres: false } } });
  t.match(await stack.http(gw!, 'GET', '/health/live'), { status: 200 }, 'still alive');
});
