import t from 'tap';
import { eventually, scrape, Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('/metrics on the gateways and the persister expose the series, and they move under traffic', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 0 });
  const persister = await stack.addPersister('persister1', { METRICS_PORT: '0' });
  const persisterUrl = `http://127.0.0.1:${JSON.parse(await persister.waitFor(/"msg":"metrics listening"/)).port}/metrics`;
  const [gw1, gw2] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob']);

  const before = await scrape(`${gw1!.url}/metrics`);
  t.equal(before.value('parley_connections'), 0, 'no connections yet');
  t.equal(before.value('parley_frames_received_total'), undefined, 'no frames yet');

  const aliceToken = stack.token('alice');
  const { client: alice } = await TestClient.open(`${gw1!.wsUrl}?token=${aliceToken}`, aliceToken);
  const { client: bob } = await TestClient.open(gw2!.wsUrl, stack.token('bob'));
  t.teardown(() => Promise.all([alice.close(), bob.close()]));
  // welcome comes before the room's subscriptions are confirmed (both gateways'): until then, bob's
  // gateway would catch up from the room log instead of receiving over pub/sub, which the relay
  // histogram counts.
  await eventually(
    async () => ((await stack.redis.call('PUBSUB', 'SHARDNUMSUB', stack.keys.roomChannel(room))) as [string, number])[1] >= 2,
    5000,
    "bob's gateway subscribed",
  );
  const sends = 20;
  for (let i = 0; i < sends; i++) t.equal((await alice.sendMessage(room, `confidential-${i}`, `c${i}`)).type, 'ack');
  alice.sendRaw('{"type":"nonsense"}');
  await alice.next('error');
  await bob.waitForSeq(room, sends);
  await eventually(
    async () =>
      (
        await stack.db
          .selectFrom('messages')
          .select(({ fn }) => fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n >= sends,
    10_000,
    'persisted',
  );

  const m1 = await scrape(`${gw1!.url}/metrics`);
  const m2 = await scrape(`${gw2!.url}/metrics`);
  t.equal(m1.value('parley_connections'), 1, 'gateway 1 holds one connection');
  t.equal(m2.value('parley_connections'), 1, 'gateway 2 holds one connection');
  t.equal(m1.value('parley_frames_received_total', { type: 'send_message' }), sends, 'frames in, by type');
  t.equal(m1.value('parley_frames_received_total', { type: 'hello' }), 1);
  t.equal(m1.value('parley_frames_received_total', { type: 'invalid' }), 1, 'a refused frame counts as invalid');
  t.equal(m1.value('parley_frames_sent_total', { type: 'ack' }), sends, 'frames out, by type');
  t.equal(m1.value('parley_frames_sent_total', { type: 'error' }), 1);
  t.equal(m2.value('parley_frames_sent_total', { type: 'message' }), sends, "bob's gateway wrote every message");
  t.equal(m1.value('parley_append_duration_seconds_count'), sends, 'append latency histogram: one per append');
  t.ok(m1.value('parley_append_duration_seconds_sum')! > 0);
  t.ok(m2.value('parley_relay_delay_seconds_count')! >= sends, 'cross-node fan-out latency observed on the receiving node');
  t.ok(m1.value('parley_http_request_duration_seconds_count', { route: '/api/chats', method: 'POST', status: '201' })! >= 1, 'REST requests by route');
  t.equal(
    m1.value('parley_socket_closes_total', { reason: 'SLOW_CONSUMER' }),
    undefined,
    'no slow consumer yet (services/gateway/test/slow-consumer.test.ts moves it)',
  );
  t.ok(m1.value('process_resident_memory_bytes')! > 0, 'process metrics');

  const p1 = await scrape(persisterUrl);
  t.ok(p1.value('parley_persister_entries_total')! >= sends, 'persisted entries');
  t.ok(p1.value('parley_persister_batch_size_count')! >= 1, 'batch size histogram');
  t.ok(p1.value('parley_persister_batch_size_sum')! >= sends);
  t.equal(p1.value('parley_persister_pending'), 0, 'nothing pending once drained');
  t.equal(p1.value('parley_persister_oldest_pending_age_seconds'), 0);
  t.equal(p1.value('parley_persister_stream_length'), 0, 'persisted entries leave the stream');

  // Postgres goes away: the persister's lag grows while messages are still acked and relayed.
  await stack.pgServer.child.kill('SIGQUIT');
  for (let i = 0; i < 5; i++) t.equal((await alice.sendMessage(room, `late${i}`, `late${i}`)).type, 'ack');
  await bob.waitForSeq(room, sends + 5);
  const lagging = await eventually(
    async () => {
      const p = await scrape(persisterUrl);
      return p.value('parley_persister_oldest_pending_age_seconds')! > 0.5 && p.value('parley_persister_failures_total')! > 0 ? p : undefined;
    },
    15_000,
    'persister lag seen',
  );
  t.equal(lagging.value('parley_persister_stream_length'), 5, 'stream length: the five unpersisted messages');
  t.ok(lagging.value('parley_persister_pending')! >= 1, 'pending: read, not acked');
  t.ok((lagging.value('parley_backend_errors_total', { backend: 'postgres' }) ?? 0) > 0, 'persister counts Postgres errors');
  await eventually(
    async () => ((await scrape(`${gw1!.url}/metrics`)).value('parley_backend_errors_total', { backend: 'postgres' }) ?? 0) > 0,
    10_000,
    'gateway counts Postgres errors',
  );

  // The logs of all this (REST, sockets, errors) name requests and connections, never tokens or content.
  const lines = [...stack.gateways.flatMap((g) => g.child.lines), ...persister.lines];
  t.notOk(
    lines.some((l) => l.includes(aliceToken) || l.includes(aliceToken.split('.')[2]!)),
    'no log line holds a token',
  );
  t.notOk(
    lines.some((l) => l.includes('confidential-')),
    'no log line holds message content',
  );
  t.ok(
    lines.some((l) => l.includes('"msg":"socket open"') && /"conn":"[0-9a-f]{12}"/.test(l) && l.includes('"reqId"')),
    'socket lines carry the connection id (and the upgrade request id)',
  );
  t.ok(
    lines.some((l) => l.includes('"msg":"request completed"') && l.includes('"reqId"')),
    'request lines carry the request id',
  );
  t.ok(
    lines.some((l) => l.includes('"url":"/ws"') && l.includes('"msg":"incoming request"')),
    'an upgrade with a token in its URL is logged by its path',
  );

  await stack.redisServer.child.kill('SIGKILL');
  await eventually(
    async () => ((await scrape(`${gw1!.url}/metrics`)).value('parley_backend_errors_total', { backend: 'redis' }) ?? 0) > 0,
    10_000,
    'gateway counts Redis errors',
  );
  const down = await eventually(
    async () => {
      const p = await scrape(persisterUrl);
      return (p.value('parley_backend_errors_total', { backend: 'redis' }) ?? 0) > 0 ? p : undefined;
    },
    10_000,
    'persister counts Redis errors, and still answers scrapes',
  );
  t.equal(down.value('parley_persister_stream_length'), 5, 'with Redis down, the last lag figures stay');
});

t.test('the event-loop delay histogram records a stalled loop', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const [gateway] = await inProcessGateways(t, stack, 1);
  const url = `${gateway!.url}/metrics`;
  const stalled = (s: Awaited<ReturnType<typeof scrape>>) =>
    s.value('parley_event_loop_delay_seconds_count')! - s.value('parley_event_loop_delay_seconds_bucket', { le: '0.1' })!;

  const before = await scrape(url);
  // A scrape resets the monitor, which samples again from its timer's next firing.
  await new Promise((resolve) => setTimeout(resolve, 30));
  // This test shares the gateway's event loop: a 300 ms busy wait is a 300 ms stall for it.
  const until = performance.now() + 300;
  while (performance.now() < until);
  const after = await scrape(url);
  t.ok(after.value('parley_event_loop_delay_seconds_count')! > before.value('parley_event_loop_delay_seconds_count')!, 'samples since the last scrape added');
  t.ok(stalled(after) - stalled(before) >= 1, 'the stall: a sample above 100 ms');
  const sum = (s: Awaited<ReturnType<typeof scrape>>) => s.value('parley_event_loop_delay_seconds_sum')!;
  t.ok(sum(after) - sum(before) >= 0.25, 'and its length in the sum');
});
