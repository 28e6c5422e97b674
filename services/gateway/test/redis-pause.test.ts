import t from 'tap';
import { ChatLoad, eventually, rssBytes, Stack, TestClient } from '@parley/testkit';

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/**
 * Issue 11, fault 5: Redis is paused (SIGSTOP) for 10 seconds under load. Appends go unanswered:
 * the gateway refuses them with SERVICE_UNAVAILABLE after REDIS_COMMAND_TIMEOUT_MS and acks
 * nothing meanwhile; the SDK sends them again after the wait the refusal names. A client that floods sends without waiting is held to MAX_FRAMES_IN_FLIGHT
 * (the gateway stops reading its socket), so the gateway's memory stays bounded. After SIGCONT the
 * load goes on and the checker accounts for every ack.
 */
t.test('Redis paused 10 s under load: sends refused, no false ack, gateway memory bounded', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1, env: { REDIS_COMMAND_TIMEOUT_MS: '2000' } });
  const [gw] = stack.gateways;
  const rooms = new Map([[await stack.createGroup('r0', ['r1', 'r2']), ['r0', 'r1', 'r2']]]);
  const floodRoom = await stack.createGroup('flooder', []);
  const load = await ChatLoad.start(stack, { rooms, url: () => gw!.wsUrl, perSecond: 50 });
  t.teardown(() => load.close());
  const { client: flooder } = await TestClient.open(gw!.wsUrl, stack.token('flooder'));
  t.teardown(() => flooder.close());
  await load.flowing(100, 'load flowing');
  const rssBefore = rssBytes(gw!.child.pid);

  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  const pausedAt = Date.now();
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  // 40 MB of sends written without waiting for a single ack.
  const big = 'f'.repeat(8000);
  for (let i = 0; i < 5000; i++) flooder.send({ type: 'send_message', chat_id: floodRoom, client_id: `flood-${i}`, message_type: 'text', content: big });

  await eventually(() => load.retries.length > 0, 10_000, 'a send refused for now');
  const ackedAtFirstRefusal = load.acked.length;
  const refusedAfterMs = Date.now() - pausedAt;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - pausedAt)))); // the pause under test
  const rssPaused = rssBytes(gw!.child.pid);
  const ackedWhilePaused = load.acked.length - ackedAtFirstRefusal;
  const floodAcks = flooder.frames.filter((f) => f.type === 'ack').length;
  process.kill(redisPid, 'SIGCONT');

  t.comment(
    `first refusal ${refusedAfterMs} ms into the pause; refused ${load.retries.length} load sends for now (${[...new Set(load.retries.map((e) => e.split(': ')[1]))].join(', ')}), each sent again; acked while paused ${ackedWhilePaused}`,
  );
  t.comment(`gateway RSS ${mb(rssBefore)} MB before, ${mb(rssPaused)} MB after 10 s paused with 40 MB of sends written at it`);
  t.ok(
    load.retries.every((e) => e.endsWith(': SERVICE_UNAVAILABLE')),
    'refusals say SERVICE_UNAVAILABLE',
  );
  t.equal(ackedWhilePaused, 0, 'nothing acked while Redis was paused');
  t.equal(floodAcks, 0, 'none of the flood acked while Redis was paused');
  t.ok(rssPaused - rssBefore < 32 * 2 ** 20, `gateway RSS grew ${mb(rssPaused - rssBefore)} MB (< 32 MB): the flood was not read`);

  await load.flowing(100, 'load flowing after SIGCONT');
  // The flood is answered in order once Redis is back: an ack or a refusal for each frame.
  await flooder.find((f) => (f.type === 'ack' || f.type === 'error') && f.client_id === 'flood-4999', 60_000);
  const floodAnswers = flooder.frames.filter((f) => f.type === 'ack' || f.type === 'error');
  t.equal(floodAnswers.length, 5000, 'every flooded send was answered');
  await load.check(t);
  t.same(load.errors, [], 'no send failed for good: the SDK sent each refused one again');
  const floodRows = await stack.db.selectFrom('messages').select('client_id').where('room_id', '=', floodRoom).execute();
  const floodAcked = new Set(floodAnswers.filter((f) => f.type === 'ack').map((f) => f.client_id));
  t.ok(
    [...floodAcked].every((id) => floodRows.some((r) => r.client_id === id)),
    `each of the ${floodAcked.size} flood acks is stored (${floodRows.length} rows)`,
  );
});
