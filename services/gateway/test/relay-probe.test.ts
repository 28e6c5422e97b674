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
  // relay, exactly a subscription that stopped delivering without an error. In a cluster, ioredis
  // may rebuild its sharded subscribers meanwhile (it did so once, early, on a loaded machine), and
  // the resubscribe's catch-up then fills the gap before the probe does: a new gap is made then.
  const gapsFound = async () => (await scrape(`${gw!.url}/metrics`)).value('parley_relay_probe_gaps_total') ?? 0;
  let head = 1;
  let gapsBefore: number;
  for (let attempt = 1; ; attempt++) {
    gapsBefore = await gapsFound();
    const linesBefore = gw!.child.lines.length;
    for (let i = 0; i < 3; i++) head = await appendUnpublished(stack.redis, stack.keys, room, rawMessageEvent(room, 'alice'));
    await client.waitForSeq(room, head, 10_000);
    const resubscribed = gw!.child.lines.slice(linesBefore).some((l) => l.includes('resyncing channels'));
    if (!resubscribed || attempt === 3) break;
    t.comment(`attempt ${attempt}: the subscribers were rebuilt and the catch-up filled the gap; another gap`);
  }
  const seqs = Array.from({ length: head }, (_, i) => i + 1);
  t.same(
    client.messages(room).map((m) => m.seq),
    seqs,
    'backfilled in order, each once',
  );
  t.equal((await gapsFound()) - gapsBefore, 1, 'one gap found: the quiet room, probed too, lacked nothing');
  t.ok(
    gw!.child.lines.some((l) => l.includes('relay probe') && l.includes(`"roomId":${room}`)),
    'a warning names the room',
  );

  // The room's channel still works, and the next event follows the backfilled ones.
  await client.sendMessage(room, 'after', 'c-2');
  await client.waitForSeq(room, head + 1);
  t.same(
    client.messages(room).map((m) => m.seq),
    [...seqs, head + 1],
  );
  t.equal(client.messages(quiet).length, 0);
  await eventually(async () => (await stack.streamLength()) === 0, 20_000, 'persisted');
  await client.close();
});
