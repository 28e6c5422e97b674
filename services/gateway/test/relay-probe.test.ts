import t from 'tap';
import { appendUnpublished, eventually, rawMessageEvent, scrape, Stack, TestClient } from '@parley/testkit';

t.test('a room channel that goes silent past events is found by the probe and backfilled', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1, env: { RELAY_PROBE_INTERVAL_MS: '300' } });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('alice', []);
  const quiet = await stack.createGroup('alice', []);
  const { client } = await TestClient.open(gw!.wsUrl, stack.token('alice'));
  const ack = await client.sendMessage(room, 'first', 'c-1');
  t.match(ack, { type: 'ack', seq: 1 });
  await client.waitForSeq(room, 1);

  // Three events reach the room's log and stream, but its channel never carries them: to the
  // relay, exactly a subscription that stopped delivering without an error.
  for (let i = 0; i < 3; i++) await appendUnpublished(stack.redis, stack.keys, room, rawMessageEvent(room, 'alice'));
  await client.waitForSeq(room, 4, 10_000);
  t.same(
    client.messages(room).map((m) => m.seq),
    [1, 2, 3, 4],
    'backfilled in order, each once',
  );
  const metrics = await scrape(`${gw!.url}/metrics`);
  t.equal(metrics.value('parley_relay_probe_gaps_total'), 1, 'one gap found: the quiet room, probed too, lacked nothing');
  t.ok(
    gw!.child.lines.some((l) => l.includes('relay probe') && l.includes(`"roomId":${room}`)),
    'a warning names the room',
  );

  // The room's channel still works, and the next event follows the backfilled ones.
  await client.sendMessage(room, 'after', 'c-2');
  await client.waitForSeq(room, 5);
  t.same(
    client.messages(room).map((m) => m.seq),
    [1, 2, 3, 4, 5],
  );
  t.equal(client.messages(quiet).length, 0);
  await eventually(async () => (await stack.streamLength()) === 0, 20_000, 'persisted');
  await client.close();
});
