import t from 'tap';
import { eventually, scrape, Stack, TestClient } from '@parley/testkit';

t.test('SIGTERM: the listener closes, the append in flight is acked, then the socket is closed with 1012', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1 });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob']);
  const { client: alice } = await TestClient.open(gw!.wsUrl, stack.token('alice'));

  // Redis stops answering, so the append of the next message stays in flight.
  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  alice.send({ type: 'send_message', client_id: 'in-flight', chat_id: room, message_type: 'text', content: 'sent before SIGTERM' });
  await eventually(
    async () => (await scrape(`${gw!.url}/metrics`)).value('parley_frames_received_total', { type: 'send_message' }) === 1,
    10_000,
    'the gateway read the frame',
  );

  gw!.child.proc.kill('SIGTERM');
  await gw!.child.waitFor(/"msg":"gateway draining"/);
  await eventually(
    () =>
      fetch(`${gw!.url}/health/live`).then(
        () => false,
        () => true,
      ),
    5000,
    'new connections refused',
  );
  t.pass('the listener is closed: new connections are refused');
  t.equal(gw!.child.exitInfo, undefined, 'while the append is in flight, the gateway waits');

  process.kill(redisPid, 'SIGCONT');
  const ack = await alice.next('ack');
  t.match(ack, { client_id: 'in-flight', chat_id: room, seq: 1, duplicate: false }, 'the append in flight is acked');
  t.equal((await alice.closed).code, 1012, 'then the socket is closed with 1012: reconnect elsewhere');
  t.equal((await gw!.child.exited).code, 0, 'and the gateway exits cleanly');
  await eventually(
    async () => (await stack.db.selectFrom('messages').select('id').where('id', '=', ack.id).executeTakeFirst()) !== undefined,
    10_000,
    'persisted',
  );
});

t.test('a drain that cannot finish in SHUTDOWN_TIMEOUT_MS exits anyway, with status 1', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gw = await stack.addGateway('gateway1', { SHUTDOWN_TIMEOUT_MS: '1000' });
  const room = await stack.createGroup('alice', ['bob'], gw);
  const { client: alice } = await TestClient.open(gw.wsUrl, stack.token('alice'));
  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  alice.send({ type: 'send_message', client_id: 'stuck', chat_id: room, message_type: 'text', content: 'never acked' });
  await eventually(
    async () => (await scrape(`${gw.url}/metrics`)).value('parley_frames_received_total', { type: 'send_message' }) === 1,
    10_000,
    'the gateway read the frame',
  );
  const started = Date.now();
  const { code } = await gw.child.kill('SIGTERM');
  const took = Date.now() - started;
  t.equal(code, 1, 'exit status 1');
  t.ok(took >= 900 && took < 3000, `exited after ${took} ms (timeout 1000 ms)`);
  t.ok(
    gw.child.lines.some((l) => l.includes('drain timed out')),
    'logged',
  );
  t.notOk(
    alice.frames.some((f) => f.type === 'ack'),
    'no ack was written for the append that never finished',
  );
});
