import t from 'tap';
import WebSocket from 'ws';
import { ParleyClient } from '@parley/client';
import { eventually, Stack, type GatewayProcess } from '@parley/testkit';

/**
 * Issue 10, acceptance 2: every gateway of three is replaced in turn (SIGTERM, drain) while every
 * client sends without pause. A checker then accounts for each acked message: in Postgres once, and
 * at every member's client once, in seq order with no gap.
 */
t.test('rolling restart of three gateways under load: no acked message lost, every client resumed', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 1, env: { SHUTDOWN_TIMEOUT_MS: '8000' } });
  let alive: GatewayProcess[] = [...stack.gateways];
  // The load balancer: round robin over the gateways in rotation (so each one drained has clients).
  let turn = 0;
  const pick = () => alive[turn++ % alive.length]!.wsUrl;

  const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
  const roomAll = await stack.createGroup('u0', users.slice(1));
  const roomFew = await stack.createGroup('u3', ['u4', 'u5']);
  const membersOf = new Map([[roomAll, users], [roomFew, ['u3', 'u4', 'u5']]]);

  const clients = users.map((user) => {
    const client = new ParleyClient({
      url: pick,
      token: () => stack.token(user),
      WebSocket,
      reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
      fallbackAfterFailures: 1000,
    });
    const received = new Map<number, number[]>();
    client.on('message', (m) => received.set(m.chat_id, [...(received.get(m.chat_id) ?? []), m.seq]));
    let welcomes = 0;
    const opened = new Promise<void>((resolve) => client.on('welcome', () => (++welcomes, resolve())));
    client.connect();
    return { user, client, received, opened, welcomes: () => welcomes };
  });
  t.teardown(() => clients.forEach((c) => c.client.close()));
  await Promise.all(clients.map((c) => c.opened));

  // Load: every client sends, one message after another's ack, to each of its rooms in turn.
  const acked: Array<{ room: number; id: string; seq: number }> = [];
  const refused: string[] = [];
  let loading = true;
  const senders = clients.map(async ({ user, client }) => {
    const rooms = [...membersOf].filter(([, members]) => members.includes(user)).map(([room]) => room);
    for (let i = 0; loading; i++) {
      const room = rooms[i % rooms.length]!;
      try {
        const ack = await client.send(room, `${user} ${i}`);
        acked.push({ room, id: ack.id, seq: ack.seq });
      } catch (err) {
        refused.push(`${user}: ${(err as Error).message}`);
      }
    }
  });

  const drains: string[] = [];
  for (const old of [...stack.gateways]) {
    const before = acked.length;
    await eventually(() => acked.length >= before + 30, 20_000, 'load flowing');
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
  const atEnd = acked.length;
  await eventually(() => acked.length >= atEnd + 30, 20_000, 'load flowing on the new gateways');
  loading = false;
  await Promise.all(senders);
  t.comment(drains.join('\n'));

  // The checker, after a full drain.
  t.same(refused, [], 'no send refused');
  t.equal(new Set(acked.map((a) => a.id)).size, acked.length, 'each ack names its own message');
  await eventually(async () => (await stack.pendingCount()) === 0 && (await stack.streamLength()) === 0, 20_000, 'persister drained');
  const rows = await stack.db.selectFrom('messages').select(['id', 'room_id', 'seq']).where('type', '!=', 'system').execute();
  const stored = new Map(rows.map((r) => [r.id, r]));
  const lost = acked.filter((a) => stored.get(a.id)?.seq !== a.seq || stored.get(a.id)?.room_id !== a.room);
  t.equal(lost.length, 0, `lost: ${lost.length} of ${acked.length} acked`);
  t.equal(rows.length, acked.length, 'duplicated: none (one row per acked message)');

  for (const [room, members] of membersOf) {
    const head = Math.max(...rows.filter((r) => r.room_id === room).map((r) => r.seq));
    for (const c of clients.filter((c) => members.includes(c.user))) {
      await eventually(() => (c.received.get(room)?.at(-1) ?? 0) >= head, 20_000, `${c.user} caught up in room ${room}`);
      const seqs = c.received.get(room)!;
      t.same(seqs, Array.from({ length: head }, (_, i) => i + 1), `${c.user} got room ${room}'s ${head} messages once each, in order, no gap`);
    }
  }
  const resumed = clients.filter((c) => c.welcomes() >= 2).length;
  t.equal(resumed, clients.length, 'every client reconnected at least once and resumed');
  t.comment(`acked ${acked.length} messages over ${stack.gateways.length} gateway starts; lost 0, duplicated 0; reconnects: ${clients.map((c) => c.welcomes() - 1).join(', ')}`);
});
