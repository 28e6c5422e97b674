import t from 'tap';
import { sql } from 'kysely';
import { pairsOf } from '@parley/redis';
import { appendUnpublished, callParley, eventually, rawMessageEvent, scrape, Stack } from '@parley/testkit';

t.test('an entry Postgres refuses is dead-lettered; the rest of its batch is written and the watermark moves past it', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0, env: { PERSISTER_WATERMARK_INTERVAL_MS: '50', ROOM_LOG_WINDOW: '0' } });
  const [gw] = stack.gateways;
  const alice = stack.token('alice');
  const room = await stack.createGroup('alice', []);
  const send = async (n: number) => {
    const res = await stack.http(gw!, 'POST', `/api/chats/${room}/messages`, alice, { client_id: `ok-${n}`, message_type: 'text', content: `fine ${n}` });
    t.equal(res.status, 201);
  };
  // One batch: good messages around three bad entries, all in the stream before a persister starts.
  await send(1);
  // A lone surrogate inside a jsonb column: Postgres refuses the row ("Unicode low surrogate must follow a high surrogate").
  const surrogate = await appendUnpublished(
    stack.redis,
    stack.keys,
    room,
    rawMessageEvent(room, 'alice', ',"system":{"event":"member_added","user_id":"x\\udfff"}'),
  );
  await send(2);
  // An entry a constraint refuses, mendable by an operator: here a check the test adds, as a
  // schema would hold while gateways newer than its migrations already send what the next one allows.
  await stack.db.schema
    .alterTable('messages')
    .addCheckConstraint('awaiting_migration', sql`sender_id <> 'zed'`)
    .execute();
  const awaiting = await appendUnpublished(stack.redis, stack.keys, room, rawMessageEvent(room, 'zed', ''));
  // An entry the persister cannot read at all, in the room's partition.
  const partition = stack.keys.partitionOf(room);
  await stack.redis.xadd(stack.keys.eventStream(partition), '*', 'x', 'not an event');
  await send(3);
  const head = Number(await stack.redis.hget(stack.keys.roomMeta(room), 'seq'));

  const persister = await stack.addPersister('persister1', { PERSISTER_BATCH_SIZE: '1000', METRICS_PORT: '0' });
  const metricsPort = (JSON.parse(await persister.waitFor(/"msg":"metrics listening"/)) as { port: number }).port;

  await eventually(async () => (await stack.streamLength()) === 0 && (await stack.pendingCount()) === 0, 20_000, 'the stream drained');
  const stored = (await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).orderBy('seq').execute()).map((r) => Number(r.seq));
  const expected = Array.from({ length: head }, (_, i) => i + 1).filter((s) => s !== surrogate && s !== awaiting);
  t.same(stored, expected, 'every other entry of the batch is in Postgres');

  const letters = (await stack.redis.xrange(stack.keys.deadLetters(partition), '-', '+')).map(([, f]) => pairsOf(f));
  t.equal(letters.length, 3, 'three dead letters');
  t.match(letters[0], { r: String(room), s: String(surrogate), code: /^22/, error: /surrogate|Unicode/i }, 'the surrogate: its fields and the error');
  t.ok(letters[0]!.e!.includes('x\\udfff'), 'its event exactly as it was in the stream');
  t.match(letters[1], { s: String(awaiting), code: '23514' }, 'the entry the check refuses: a check violation');
  t.match(letters[2], { x: 'not an event', code: 'MALFORMED' }, 'the unreadable entry');

  await eventually(async () => Number(await stack.redis.hget(stack.keys.roomMeta(room), 'persisted')) === head, 10_000, 'watermark at the head');
  t.equal(await stack.redis.xlen(stack.keys.roomLog(room)), 0, 'the room log is trimmed past the dead letters');
  t.equal((await scrape(`http://127.0.0.1:${metricsPort}/metrics`)).value('parley_persister_dead_letters_total'), 3, 'a metric counts them');
  t.equal(persister.lines.filter((l) => l.includes('"level":50') && l.includes('event dead-lettered')).length, 3, 'an error line each');

  // parley lists them, and retries them once the cause is mended.
  const env = { REDIS_URL: stack.env.REDIS_URL! };
  const listed = await callParley(env, 'dead-letters');
  t.equal(listed.code, 0);
  t.match(listed.lines[0], 'dead letters: 3');
  t.match(listed.lines.join('\n'), new RegExp(`room ${room}  seq ${awaiting}  23514`));
  const json = (await callParley(env, 'dead-letters', '--json')).lines.map((l) => JSON.parse(l));
  t.match(json[1], { room, seq: awaiting, code: '23514', fields: { r: String(room), s: String(awaiting) } });

  await stack.db.schema.alterTable('messages').dropConstraint('awaiting_migration').execute();
  const retried = await callParley(env, 'dead-letters', 'retry', '--all');
  t.match(retried.lines, ['moved back to the event stream: 3']);
  await eventually(
    async () => (await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).where('seq', '=', awaiting).executeTakeFirst()) !== undefined,
    10_000,
    'the mended entry persisted',
  );
  await eventually(async () => (await stack.redis.xlen(stack.keys.deadLetters(partition))) === 2, 10_000, 'the two still refused come back');
  const again = (await callParley(env, 'dead-letters', '--json')).lines.map((l) => JSON.parse(l));
  t.match(again, [{ seq: surrogate }, { code: 'MALFORMED' }], 'still refused: dead-lettered again, under new ids');
  t.not(again[0].id, json[0].id);

  const unknown = await callParley(env, 'dead-letters', 'retry', '1-1');
  t.equal(unknown.code, 1);
  t.match(unknown.lines.join('\n'), /no such dead letter: 1-1/);
  t.equal((await callParley(env, 'dead-letters', 'retry')).code, 2, 'retry needs ids or --all');
});
