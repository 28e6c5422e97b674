import t from 'tap';
import { ChatLoad, Stack, type GatewayProcess } from '@parley/testkit';

/**
 * Issue 10, acceptance 2: every gateway of three is replaced in turn (SIGTERM, drain) while every
 * client sends without pause. The checker then accounts for each acked message: in Postgres once,
 * and at every member's client once, in seq order with no gap.
 */
t.test('rolling restart of three gateways under load: no acked message lost, every client resumed', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 1, env: { SHUTDOWN_TIMEOUT_MS: '8000' } });
  let alive: GatewayProcess[] = [...stack.gateways];
  // The load balancer: round robin over the gateways in rotation (so each one drained has clients).
  let turn = 0;
  const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
  const rooms = new Map([
    [await stack.createGroup('u0', users.slice(1)), users],
    [await stack.createGroup('u3', ['u4', 'u5']), ['u3', 'u4', 'u5']],
  ]);
  const load = await ChatLoad.start(stack, { rooms, url: () => alive[turn++ % alive.length]!.wsUrl });
  t.teardown(() => load.close());

  const drains: string[] = [];
  for (const old of [...stack.gateways]) {
    await load.flowing(30, 'load flowing');
    const replacement = await stack.addGateway(`${old.child.name}-next`);
    alive = [...alive.filter((g) => g !== old), replacement];
    const started = Date.now();
    const { code } = await old.child.kill('SIGTERM');
    const closedWith1012 = old.child.lines.filter((l) => l.includes('"msg":"closing socket"') && l.includes('"code":1012')).length;
    drains.push(`${old.child.name}: exit ${code} after ${Date.now() - started} ms, ${closedWith1012} sockets told 1012`);
    t.equal(code, 0, `${old.child.name} exits cleanly after draining`);
    t.ok(closedWith1012 >= 1, `${old.child.name} told its clients to reconnect elsewhere (1012)`);
    t.ok(Date.now() - started < 8000, `${old.child.name} exits within SHUTDOWN_TIMEOUT_MS`);
  }
  await load.flowing(30, 'load flowing on the new gateways');
  t.comment(drains.join('\n'));

  const figures = await load.check(t);
  t.same(load.errors, [], 'no send refused');
  t.ok(figures.reconnects >= users.length, 'every client reconnected at least once and resumed');
});
