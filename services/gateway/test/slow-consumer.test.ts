import { performance } from 'node:perf_hooks';
import t from 'tap';
import type { Socket } from 'node:net';
import { rssBytes, scrape, Stack, TestClient } from '@parley/testkit';

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

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.99)]!;

t.test("a never-reading client leaves the other clients' p99 unchanged and the gateway RSS bounded", async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0, env: { WS_SEND_BUFFER_MAX_BYTES: String(2 ** 20) } });
  const [gw] = stack.gateways;
  const readers = ['fast1', 'fast2', 'fast3'];
  const room = await stack.createGroup('sender', [...readers, 'slow']);
  const { client: sender } = await TestClient.open(gw!.wsUrl, stack.token('sender'));
  const fast = await Promise.all(readers.map((u) => TestClient.open(gw!.wsUrl, stack.token(u)).then((o) => o.client)));
  t.teardown(() => Promise.all([sender, ...fast].map((c) => c.close())));

  // Arrival time of each seq at each reading client; send time of each client_id.
  const arrived = fast.map(() => new Map<number, number>());
  fast.forEach((c, i) =>
    c.ws.on('message', (data) => {
      const f = JSON.parse((data as Buffer).toString()) as { type: string; seq?: number };
      if (f.type === 'message') arrived[i]!.set(f.seq!, performance.now());
    }),
  );
  const sentAt = new Map<string, number>();
  const content = 'x'.repeat(8000);
  let n = 0;
  /** Sends at 200 a second until `until` holds (and at least `min`), then returns the readers' latencies. */
  const phase = async (min: number, until: () => boolean) => {
    const first = n;
    const started = performance.now();
    for (let i = 0; i < min || !until(); i++) {
      if (i >= 4000) throw new Error('phase did not end');
      const wait = started + i * 5 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const clientId = `m-${n++}`;
      sentAt.set(clientId, performance.now());
      sender.send({ type: 'send_message', chat_id: room, client_id: clientId, message_type: 'text', content });
    }
    const last = await sender.find((f) => f.type === 'ack' && f.client_id === `m-${n - 1}`, 30_000);
    await Promise.all(fast.map((c) => c.waitForSeq(room, (last as { seq: number }).seq)));
    const acks = sender.frames.filter((f): f is Extract<typeof f, { type: 'ack' }> => f.type === 'ack' && Number(f.client_id.slice(2)) >= first);
    return acks.flatMap((a) => arrived.map((m) => m.get(a.seq)! - sentAt.get(a.client_id)!));
  };

  const rssStart = rssBytes(gw!.child.pid);
  const baseline = await phase(600, () => true);
  const rssBaseline = rssBytes(gw!.child.pid);

  const { client: slow } = await TestClient.open(gw!.wsUrl, stack.token('slow'));
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  let slowClosed = false;
  void gw!.child
    .waitFor((l) => l.includes('"code":4100'), 120_000)
    .then(
      () => (slowClosed = true),
      () => undefined,
    );
  let rssPeak = 0;
  const withSlow = await phase(600, () => {
    rssPeak = Math.max(rssPeak, rssBytes(gw!.child.pid));
    return slowClosed;
  });
  const rssEnd = rssBytes(gw!.child.pid);
  (slow.ws as unknown as { _socket: Socket })._socket.resume();
  t.equal((await slow.closed).code, 4100, 'the client that never read was closed past its send buffer cap (4100)');

  const [before, during] = [p99(baseline), p99(withSlow)];
  t.comment(
    `readers' p99 ${before.toFixed(1)} ms alone, ${during.toFixed(1)} ms beside a client that never reads (${withSlow.length / readers.length} messages of 8 KB at 200/s)`,
  );
  t.comment(
    `gateway RSS ${(rssStart / 2 ** 20).toFixed(1)} MB at start, ${(rssBaseline / 2 ** 20).toFixed(1)} MB after the baseline, peak ${(rssPeak / 2 ** 20).toFixed(1)} MB, ${(rssEnd / 2 ** 20).toFixed(1)} MB at the end`,
  );
  t.ok(during <= before * 3 + 25, `p99 beside the slow client (${during.toFixed(1)} ms) within 3x + 25 ms of the baseline (${before.toFixed(1)} ms)`);
  t.ok(rssPeak - rssBaseline < 24 * 2 ** 20, `gateway RSS grew ${((rssPeak - rssBaseline) / 2 ** 20).toFixed(1)} MB (< 24 MB) with a 1 MB send buffer cap`);
});
