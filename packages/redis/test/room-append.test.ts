import t from 'tap';
import { Redis } from 'ioredis';
import { createKeys, createScripts, PERSISTER_GROUP, scriptLibrary, type AppendInput } from '@parley/redis';
import { startRedis } from '@parley/testkit';

// room-append.lua's own answers, on a real server: the head and the own read mark it writes, and
// the fence that keeps a server the partition was not reconciled on from handing out seqs; and
// room-reconcile.lua's floor, which that fence relies on; and stream-ack.lua, a persister's entries
// acknowledged and deleted in one call.
const server = await startRedis();
t.teardown(() => server.stop());
const redis = new Redis(server.url);
t.teardown(() => redis.disconnect());
const keys = createKeys();
const scripts = createScripts(redis, keys);
const runIdOf = async () => /run_id:(\w+)/.exec(await redis.info('server'))![1]!;
const runId = await runIdOf();

const room = 7;
const incarnation = keys.partitionIncarnation(keys.partitionOf(room));
let n = 0;
const append = (senderId: string | null = 'alice', mode: AppendInput['mode'] = 'member') =>
  scripts.roomAppend({
    roomId: room,
    senderId,
    mode,
    clientId: `c-${n++}`,
    id: `id-${n}`,
    createdAt: '2026-12-02T00:00:00.000Z',
    eventJson: '{"chat_id":7,"content":"hi"}',
    idempotencyTtlSeconds: 60,
    maxBacklog: 1000,
  });

await redis.sadd(keys.roomMembers(room), '', 'alice', 'bob');

t.test('without a head in Redis nothing is handed out', async (t) => {
  await redis.set(incarnation, runId);
  t.same(await append(), { status: 'HEAD_UNKNOWN' });
});

t.test('the head moves one seq a message, and the sender has read what they sent', async (t) => {
  await redis.hset(keys.roomMeta(room), 'seq', 41);
  t.match(await append('alice'), { status: 'OK', seq: 42 });
  t.match(await append('bob'), { status: 'OK', seq: 43 });
  t.match(await append(null, 'system'), { status: 'OK', seq: 44 });
  t.same(await redis.hmget(keys.roomMeta(room), 'seq', 'u:alice', 'u:bob'), ['44', '42', '43']);
  const log = await redis.xrange(keys.roomLog(room), '-', '+');
  t.same(
    log.map(([id]) => id),
    ['42-0', '43-0', '44-0'],
    'the room log holds each seq',
  );
});

t.test('a server the partition was not reconciled on refuses, whatever run_id is recorded', async (t) => {
  const head = await redis.hget(keys.roomMeta(room), 'seq');
  for (const recorded of [null, runId.slice(0, 20), runId.replace(/.$/, (c) => (c === '0' ? '1' : '0')), `${runId}0`]) {
    if (recorded === null) await redis.del(incarnation);
    else await redis.set(incarnation, recorded);
    t.same(await append(), { status: 'UNRECONCILED' }, `recorded ${recorded ?? 'nothing'}`);
  }
  t.equal(await redis.hget(keys.roomMeta(room), 'seq'), head, 'no seq was handed out');
  await redis.set(incarnation, runId);
  t.match(await append(), { status: 'OK' }, 'reconciled here, it appends');
});

t.test('a server without the library (FUNCTION FLUSH) has it loaded by the first call', async (t) => {
  await redis.call('FUNCTION', 'FLUSH');
  t.same(await redis.call('FUNCTION', 'LIST', 'LIBRARYNAME', scriptLibrary().name), [], 'the library is gone');
  await redis.set(incarnation, runId);
  t.match(await append(), { status: 'OK' }, 'the append that found it missing loaded it and ran');
  t.equal(((await redis.call('FUNCTION', 'LIST', 'LIBRARYNAME', scriptLibrary().name)) as unknown[]).length, 1, 'loaded once');
});

t.test('a restarted server refuses the run_id recorded before its restart', async (t) => {
  await redis.set(incarnation, runId);
  t.match(await append(), { status: 'OK' }, 'the library has read this process’ run_id');
  await server.restart();
  await redis.ping();
  const restarted = await runIdOf();
  t.not(restarted, runId, 'a new process, a new run_id');
  t.equal(await redis.get(incarnation), runId, 'the AOF kept the old record');
  t.same(await append(), { status: 'UNRECONCILED' }, 'no seq from a server the partition was not reconciled on');
  await redis.set(incarnation, restarted);
  t.match(await append(), { status: 'OK' }, 'reconciled on it, it appends');
});

t.test('a second reconciliation on the same server leaves the floor where the first set it', async (t) => {
  const meta = keys.roomMeta(room);
  await redis.del(incarnation);
  await redis.hset(meta, 'seq', 50);
  t.equal(await scripts.roomReconcile(room, 40), 50, 'the head before');
  t.equal(await redis.hget(meta, 'floor'), '50', 'the floor: the head when this server began to serve the room');
  // The first gateway to finish records the partition; appends go through from then on.
  await redis.set(incarnation, await runIdOf());
  for (const seq of [51, 52, 53]) t.match(await append(), { status: 'OK', seq });
  // A gateway that began reconciling before the record was written comes to the room now.
  t.equal(await scripts.roomReconcile(room, 40), 53, 'the head now');
  t.equal(await redis.hget(meta, 'floor'), '50', 'the floor stays below the seqs this server handed out');
});

t.test('entries read by a consumer are acked and deleted, more than Lua unpacks at once (8,000); others stay', async (t) => {
  const stream = keys.eventStream(3);
  await redis.xgroup('CREATE', stream, PERSISTER_GROUP, '0', 'MKSTREAM');
  const pipeline = redis.pipeline();
  for (let i = 0; i < 8600; i++) pipeline.xadd(stream, '*', 'r', 1, 's', i + 1, 'e', '{}');
  await pipeline.exec();
  const reply = (await redis.xreadgroup('GROUP', PERSISTER_GROUP, 'p1', 'COUNT', 8500, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
  const ids = reply[0]![1].map(([id]) => id);
  t.equal(ids.length, 8500);
  t.equal(await scripts.streamAck(3, ids), 8500, 'all deleted');
  t.equal(await redis.xlen(stream), 100, 'the entries not read are still there');
  t.match(await redis.xpending(stream, PERSISTER_GROUP), [0], 'nothing pending');
  t.equal(await scripts.streamAck(3, [ids[0]!]), 0, 'an entry acked twice changes nothing');
});
