import t from 'tap';
import { Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('three gateways: concurrent senders, every client gets every message once, in seq order', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gateways = await inProcessGateways(t, stack, 3);
  const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
  const room = await stack.createGroup('u1', users.slice(1), gateways[0]);
  // Two clients on each gateway.
  const clients = await Promise.all(users.map((u, i) => TestClient.open(gateways[i % 3]!.wsUrl, stack.token(u)).then((o) => o.client)));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));

  const perSender = 40;
  const senders = [clients[0]!, clients[1]!, clients[2]!]; // on gateways 1, 2 and 3
  const acks = await Promise.all(
    senders.map((c, s) => Promise.all(Array.from({ length: perSender }, (_, i) => c.sendMessage(room, `s${s} m${i}`, `s${s}-${i}`)))),
  );
  const flat = acks.flat();
  const total = senders.length * perSender;
  t.ok(
    flat.every((a) => a.type === 'ack'),
    'every send was acked',
  );
  const ackSeqs = flat.map((a) => (a.type === 'ack' ? a.seq : -1)).sort((a, b) => a - b);
  t.same(
    ackSeqs,
    Array.from({ length: total }, (_, i) => i + 1),
    'acks carry seqs 1..N, each once',
  );
  for (const [s, senderAcks] of acks.entries()) {
    const seqs = senderAcks.map((a) => (a.type === 'ack' ? a.seq : 0));
    t.same(
      seqs,
      [...seqs].sort((a, b) => a - b),
      `sender ${s}'s messages are ordered as sent`,
    );
  }

  const byId = new Map(flat.map((a) => (a.type === 'ack' ? [a.id, a.seq] : ['', 0])));
  for (const [i, client] of clients.entries()) {
    await client.waitForSeq(room, total);
    const got = client.messages(room);
    t.same(
      got.map((m) => m.seq),
      Array.from({ length: total }, (_, k) => k + 1),
      `client ${i} (gateway ${(i % 3) + 1}) got seqs 1..${total} once, in order`,
    );
    t.ok(
      got.every((m) => byId.get(m.id) === m.seq),
      `client ${i}: ids match the acks`,
    );
  }
});
