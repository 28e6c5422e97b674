import t from 'tap';
import { ChatLoad, Stack, TestClient, eventually } from '@parley/testkit';

/**
 * SIGKILLs the stack's first persister at a moment it holds entries it read but has not acked
 * (mid-batch). It is frozen (SIGSTOP) while its pending list is read, so that what is seen is what
 * it dies with. Resolves with that count.
 */
async function killHoldingPending(stack: Stack): Promise<number> {
  const victim = stack.persisters[0]!;
  return eventually(
    async () => {
      victim.proc.kill('SIGSTOP');
      const count = await stack.pendingCount();
      if (count > 0) await victim.kill('SIGKILL');
      else victim.proc.kill('SIGCONT');
      return count;
    },
    30_000,
    'persister holding pending entries',
  );
}

t.test('a persister killed mid-batch under load loses nothing and duplicates nothing', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1, env: { PERSISTER_BATCH_SIZE: '20' } });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('alice', []);
  const { client } = await TestClient.open(gw!.wsUrl, stack.token('alice'));
  t.teardown(() => client.close());

  const total = 600;
  const acked: string[] = [];
  let sent = 0;
  // A steady load: batches of 10 in flight, one after another, until `total` are acked.
  const load = (async () => {
    while (sent < total) {
      const batch = Array.from({ length: 10 }, () => sent++).map((i) => client.sendMessage(room, `m${i}`, `k${i}`));
      for (const ack of await Promise.all(batch)) if (ack.type === 'ack') acked.push(ack.id);
    }
  })();

  await eventually(() => acked.length > 100, 30_000, 'load flowing');
  const leftPending = await killHoldingPending(stack);
  t.ok(leftPending > 0, `the persister was killed holding ${leftPending} entries it had read but not acked`);

  await stack.addPersister('persister2');
  await load;
  t.equal(acked.length, total, 'every message was acked');

  await eventually(async () => (await stack.pendingCount()) === 0 && (await stack.streamLength()) === 0, 30_000, 'backlog drained');
  const rows = await stack.db.selectFrom('messages').select(['id', 'seq']).where('room_id', '=', room).orderBy('seq').execute();
  t.equal(rows.length, total, 'Postgres holds every acked message once');
  t.same(new Set(rows.map((r) => r.id)), new Set(acked), 'exactly the acked ids');
  t.same(
    rows.map((r) => r.seq),
    Array.from({ length: total }, (_, i) => i + 1),
    'seqs 1..N without gap',
  );
  t.equal(await stack.pendingCount(), 0, 'the pending list ends empty');
});

t.test('a persister stopped with SIGTERM finishes its batch, acks it and exits cleanly', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1, env: { PERSISTER_BATCH_SIZE: '20' } });
  const room = await stack.createGroup('alice', []);
  const { client } = await TestClient.open(stack.gateways[0]!.wsUrl, stack.token('alice'));
  t.teardown(() => client.close());
  const load = Promise.all(Array.from({ length: 300 }, (_, i) => client.sendMessage(room, `m${i}`, `k${i}`)));
  await eventually(async () => (await stack.pendingCount()) > 0, 20_000, 'persister busy');
  const { code } = await stack.persisters[0]!.kill('SIGTERM');
  t.equal(code, 0, 'exit code 0');
  t.equal(await stack.pendingCount(), 0, 'it left nothing pending');
  await load;
  await stack.addPersister('persister2');
  await eventually(async () => (await stack.streamLength()) === 0, 20_000, 'drained');
  const rows = await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).execute();
  t.equal(rows.length, 300);
});

t.test('SIGKILL the persister between read and ack under load from many clients: the checker finds 0 lost', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1, env: { PERSISTER_BATCH_SIZE: '50' } });
  let turn = 0;
  const rooms = new Map([
    [await stack.createGroup('w0', ['w1', 'w2', 'w3']), ['w0', 'w1', 'w2', 'w3']],
    [await stack.createGroup('w2', ['w3']), ['w2', 'w3']],
  ]);
  const load = await ChatLoad.start(stack, { rooms, url: () => stack.gateways[turn++ % 2]!.wsUrl, inFlight: 2 });
  t.teardown(() => load.close());
  await load.flowing(200, 'load flowing');

  const heldPending = await killHoldingPending(stack);
  await load.flowing(200, 'load flowing without a persister');
  const backlog = await stack.streamLength();
  await stack.addPersister('persister2');
  await load.flowing(200, 'load flowing after the new persister started');
  t.comment(`persister killed holding ${heldPending} read-but-unacked entries; backlog ${backlog} when its successor started`);
  const figures = await load.check(t);
  t.equal(figures.stored, figures.acked + figures.recovered, 'each acked message stored once');
});
