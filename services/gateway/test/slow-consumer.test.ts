import t from 'tap';
import type { Socket } from 'node:net';
import { scrape, Stack, TestClient } from '@parley/testkit';

t.test('a socket that stops reading is closed with 4100 once past its send buffer cap; others are served', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0, env: { WS_SEND_BUFFER_MAX_BYTES: '65536' } });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('sender', ['slow', 'fast']);
  const { client: sender } = await TestClient.open(gw!.wsUrl, stack.token('sender'));
  const { client: fast } = await TestClient.open(gw!.wsUrl, stack.token('fast'));
  const { client: slow } = await TestClient.open(gw!.wsUrl, stack.token('slow'));
  t.teardown(() => Promise.all([sender.close(), fast.close(), slow.close()]));

  // The slow client stops reading: the kernel buffers fill, then the gateway's own buffer grows.
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  const big = 'x'.repeat(7900);
  let sent = 0;
  const closedLine = gw!.child.waitFor((l) => l.includes('"code":4100') && l.includes('closing socket'), 60_000);
  let closed = false;
  void closedLine.then(() => (closed = true));
  while (!closed && sent < 3000) {
    const batch = Array.from({ length: 50 }, () => sender.sendMessage(room, big, `b-${sent++}`));
    for (const ack of await Promise.all(batch)) if (ack.type !== 'ack') throw new Error(JSON.stringify(ack));
  }
  await closedLine;
  t.pass(`the gateway closed the slow socket with 4100 after ${sent} messages of 8 KB`);
  await fast.waitForSeq(room, sent);
  t.equal(fast.messages(room).length, sent, 'the reading client got every message');

  (slow.ws as unknown as { _socket: Socket })._socket.resume();
  t.equal((await slow.closed).code, 4100, 'the slow client, reading again, sees close code 4100');
  t.equal((await scrape(`${gw!.url}/metrics`)).value('parley_socket_closes_total', { reason: 'SLOW_CONSUMER' }), 1, 'counted in /metrics');
});
