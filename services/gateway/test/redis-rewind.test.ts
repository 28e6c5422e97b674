import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { ParleyClient } from '@parley/client';
import type { ServerFrameOf } from '@parley/protocol';
import { eventually, Stack, TestClient } from '@parley/testkit';

/** The AOF file Redis appends to (Redis 7: appendonlydir/<name>.<n>.incr.aof). */
function incrAof(dir: string): string {
  const name = readdirSync(join(dir, 'appendonlydir')).find((f) => f.endsWith('.incr.aof'))!;
  return join(dir, 'appendonlydir', name);
}

/**
 * Issue 11, fault 4 under `everysec`: the machine dies and the AOF loses its newest writes, which
 * the persister may already have written to Postgres. Emulated by cutting the AOF back to its size
 * at an earlier moment before Redis restarts. Redis then holds a head below seqs Postgres has: the
 * gateway raises it to Postgres' before handing out a seq (else new messages would reuse those seqs
 * and the persister would drop them); clients that received the lost events are told `chat_rewound`
 * (live, or on resume with their epoch) and go on from the floor, with every new message.
 */
t.test('Redis restarted from an AOF that lost its last writes: heads raised to Postgres, clients rewound, nothing new lost', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 1 });
  const [gw] = stack.gateways;
  const room = await stack.createGroup('alice', ['bob', 'carol', 'dave']);
  const { client: alice } = await TestClient.open(gw!.wsUrl, stack.token('alice'));
  const { client: carol } = await TestClient.open(gw!.wsUrl, stack.token('carol'));
  t.teardown(() => Promise.all([alice.close(), carol.close()]));
  const sdk = (user: string) => {
    const client = new ParleyClient({
      url: gw!.wsUrl,
      token: () => stack.token(user),
      WebSocket: WebSocket,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const seen: Array<{ seq: number; content: string }> = [];
    const rewinds: number[] = [];
    client.on('message', (m) => seen.push({ seq: m.seq, content: m.content }));
    client.on('chat_rewound', (f) => rewinds.push(f.head_seq));
    t.teardown(() => client.close());
    const welcomed = new Promise<void>((resolve) => client.on('welcome', () => resolve()));
    client.connect();
    return { client, seen, rewinds, welcomed };
  };
  const bob = sdk('bob'); // connected throughout
  const dave = sdk('dave'); // offline across the crash
  await Promise.all([bob.welcomed, dave.welcomed]);
  const persisted = async (n: number) =>
    eventually(async () => (await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).execute()).length >= n, 20_000, `${n} persisted`);
  const send = async (from: number, to: number) => {
    for (let i = from; i <= to; i++) t.match(await alice.sendMessage(room, `m${i}`, `c${i}`), { type: 'ack', seq: i });
  };

  await send(1, 6);
  await persisted(6);
  const aof = incrAof(stack.redisServer.dir);
  const keptBytes = statSync(aof).size; // the disk, as of here
  await send(7, 10);
  await persisted(10);
  stack.persisters[0]!.proc.kill('SIGSTOP'); // m11..m15 are acked but never persisted
  await send(11, 15);
  await Promise.all([bob, dave].map((c) => eventually(() => c.seen.length === 15, 10_000, 'all 15 delivered')));
  await carol.waitForSeq(room, 15);
  dave.client.close();

  // The machine dies: the AOF loses what was written after keptBytes (m7..m15 and the persister's acks).
  await stack.redisServer.restart(async () => truncateSync(aof, keptBytes));
  stack.persisters[0]!.proc.kill('SIGCONT');
  t.match(await gw!.child.waitFor(/room heads raised to Postgres/), /"raisedCount":1/, "the gateway raised the room head from 6 to Postgres' 10");

  const rewound = await carol.next('chat_rewound');
  t.same(rewound, { type: 'chat_rewound', chat_id: room, head_seq: 10 }, 'a connected client is told its events after 10 may be gone');
  await eventually(() => bob.rewinds.length > 0, 10_000, 'bob rewound');
  t.same(bob.rewinds, [10], 'the SDK emits chat_rewound');

  // The first message after the crash takes seq 11, after what Postgres holds, not 7.
  const carolFrom = carol.frames.length;
  const after = await alice.sendMessage(room, 'after the crash', 'after-1');
  t.match(after, { type: 'ack', seq: 11 }, "the next seq follows Postgres' head");
  const row = await eventually(
    async () => stack.db.selectFrom('messages').select(['id', 'content']).where('room_id', '=', room).where('seq', '=', 11).executeTakeFirst(),
    20_000,
    'seq 11 persisted',
  );
  t.same(row, { id: (after as ServerFrameOf<'ack'>).id, content: 'after the crash' }, 'and is persisted as itself (not dropped as a conflict)');
  const carolGot = (await carol.find((f) => f.type === 'message' && f.seq === 11, 10_000, carolFrom)) as ServerFrameOf<'message'>;
  t.equal(carolGot.content, 'after the crash', 'the connected raw client gets it');
  await eventually(() => bob.seen.at(-1)?.content === 'after the crash', 10_000, 'bob got it');
  t.same(bob.seen.at(-1), { seq: 11, content: 'after the crash' }, 'so does the SDK client');

  // dave was away: resuming (same client: its seqs and epoch) it is rewound to the floor, then replayed from there.
  const daveWelcomed = new Promise<void>((resolve) => dave.client.on('welcome', () => resolve()));
  dave.client.connect();
  await daveWelcomed;
  await eventually(() => dave.seen.at(-1)?.content === 'after the crash', 10_000, 'dave caught up');
  t.same(dave.rewinds, [10], 'a client offline across the crash is rewound on resume');
  t.same(dave.seen.slice(15), [{ seq: 11, content: 'after the crash' }], 'and gets the new seq 11, not its old m11');

  const rows = await stack.db.selectFrom('messages').select(['seq', 'content']).where('room_id', '=', room).orderBy('seq').execute();
  const lost = Array.from({ length: 15 }, (_, i) => `m${i + 1}`).filter((m) => !rows.some((r) => r.content === m));
  t.comment(
    `emulated machine crash: Redis kept m1-m6, Postgres had m1-m10; acked and lost: ${lost.join(', ')} (${lost.length}, the unpersisted tail); new messages lost: 0`,
  );
  t.same(lost, ['m11', 'm12', 'm13', 'm14', 'm15'], 'what was lost is exactly what neither the AOF nor Postgres held');
  t.same(
    rows.map((r) => r.seq),
    Array.from({ length: 11 }, (_, i) => i + 1),
    'Postgres holds seqs 1..11 without a gap',
  );
});
