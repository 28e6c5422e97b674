import t from 'tap';
import WebSocket from 'ws';
import { ParleyClient } from '@parley/client';
import { eventually, Stack } from '@parley/testkit';

/**
 * Issue 11, fault 8: 2,000 sockets on one gateway drop at once (SIGKILL) and come back to the
 * others, each after a random delay (the SDK's full-jitter backoff), resuming from the last seq it
 * delivered. Messages go on meanwhile; every socket ends with each seq once, in order.
 */
t.test('reconnect storm: 2,000 sockets dropped at once come back with jitter and resume', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 1 });
  const [gw1, gw2, gw3] = stack.gateways;
  const users = Array.from({ length: 100 }, (_, i) => `storm${i}`);
  const room = await stack.createGroup('talker', users);
  let first = true;
  let turn = 0;
  const url = () => (first ? gw1! : [gw2!, gw3!][turn++ % 2]!).wsUrl;

  const open = (user: string) => {
    const client = new ParleyClient({ url, token: () => stack.token(user), WebSocket: WebSocket, reconnect: { initialDelayMs: 2000, maxDelayMs: 4000 } });
    const seqs: number[] = [];
    let welcomes = 0;
    client.on('message', (m) => seqs.push(m.seq));
    const welcomed = new Promise<void>((resolve) => client.on('welcome', () => (welcomes++, resolve())));
    client.connect();
    return { client, seqs, welcomed, welcomes: () => welcomes };
  };
  // 20 sockets for each of 100 users (the default per-user cap), opened 200 at a time.
  const sockets: Array<ReturnType<typeof open>> = [];
  t.teardown(() => sockets.forEach((s) => s.client.close()));
  for (let batch = 0; batch < 10; batch++) {
    const opened = Array.from({ length: 200 }, (_, i) => open(users[(batch * 200 + i) % users.length]!));
    sockets.push(...opened);
    await Promise.all(opened.map((s) => s.welcomed));
  }
  first = false;

  const talker = open('talker');
  t.teardown(() => talker.client.close());
  await talker.welcomed;
  let sent = 0;
  const say = async (count: number) => {
    for (let i = 0; i < count; i++) await talker.client.send(room, `m${++sent}`);
  };
  await say(10);
  await eventually(() => sockets.every((s) => s.seqs.length === 10), 30_000, 'every socket has the first 10');

  const killedAt = Date.now();
  await gw1!.child.kill('SIGKILL');
  // Messages go on while the 2,000 come back.
  const talking = (async () => {
    while (sockets.some((s) => s.welcomes() < 2) && sent < 200) await say(1);
  })();
  await eventually(() => sockets.every((s) => s.welcomes() >= 2), 60_000, 'every socket reconnected');
  const backIn = Date.now() - killedAt;
  await talking;
  await say(5);
  await eventually(() => sockets.every((s) => s.seqs.length >= sent), 60_000, 'every socket caught up');
  const inOrder = sockets.filter((s) => s.seqs.every((seq, i) => seq === i + 1) && s.seqs.length === sent).length;
  const [on2, on3] = [gw2!, gw3!].map((g) => g.child.lines.filter((l) => l.includes('"msg":"socket open"')).length);
  t.comment(
    `2,000 sockets back ${backIn} ms after the kill (${on2} opened on gateway 2, ${on3} on gateway 3); ${sent} messages, ${inOrder} of ${sockets.length} sockets saw each once, in order`,
  );
  t.equal(inOrder, sockets.length, 'every socket saw every message once, in order, across the storm');
});
