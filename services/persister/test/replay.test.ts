import t from 'tap';
import { insertMessages, type NewMessage } from '@parley/db';
import { PERSISTER_GROUP } from '@parley/redis';
import { eventually, Stack } from '@parley/testkit';
import { entryOf, type StreamEntry } from '../src/stream-entry.js';

t.test('a batch already in Postgres (committed, then the persister died before its ack) is written again: nothing lost, nothing dead-lettered', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0 });
  const gw = stack.gateways[0]!;
  const room = await stack.createGroup('alice', []);
  for (let n = 1; n <= 4; n++) {
    const res = await stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token('alice'), {
      client_id: `m-${n}`,
      message_type: 'text',
      content: `note ${n}`,
    });
    t.equal(res.status, 201);
  }
  const head = Number(await stack.redis.hget(stack.keys.roomMeta(room), 'seq'));

  // Consumer p1 reads the room's entries, which are then pending for it, and half its rows reach
  // Postgres: a batch it committed before dying, plus entries it read and never wrote.
  const stream = stack.keys.eventStream(stack.keys.partitionOf(room));
  await stack.redis.xgroup('CREATE', stream, PERSISTER_GROUP, '0', 'MKSTREAM');
  const reply = (await stack.redis.xreadgroup('GROUP', PERSISTER_GROUP, 'p1', 'COUNT', 1000, 'STREAMS', stream, '>')) as [string, StreamEntry[]][];
  const rows = reply[0]![1].flatMap((entry) => {
    const parsed = entryOf(entry);
    return parsed && 'row' in parsed ? [parsed.row] : [];
  });
  t.equal(rows.length, head, 'every seq of the room is in the stream');
  const written: NewMessage[] = rows.slice(0, Math.ceil(head / 2));
  await insertMessages(stack.db, written);

  // p1 restarts: its own pending entries first.
  await stack.addPersister('p1', { PERSISTER_CONSUMER: 'p1' });
  await eventually(async () => (await stack.streamLength()) === 0 && (await stack.pendingCount()) === 0, 20_000, 'the stream drained');
  const stored = await stack.db.selectFrom('messages').select(['seq', 'content']).where('room_id', '=', room).orderBy('seq').execute();
  t.same(
    stored.map((r) => Number(r.seq)),
    Array.from({ length: head }, (_, i) => i + 1),
    'every seq in Postgres',
  );
  t.equal(stored.filter((r) => r.content.startsWith('note ')).length, 4, 'each message once');
  t.equal(await stack.redis.xlen(stack.keys.deadLetters(stack.keys.partitionOf(room))), 0, 'nothing dead-lettered');
});
