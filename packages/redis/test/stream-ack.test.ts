import t from 'tap';
import { Redis } from 'ioredis';
import { createKeys, createScripts, PERSISTER_GROUP } from '@parley/redis';
import { startRedis } from '@parley/testkit';

// stream-ack.lua: a persister's entries acknowledged and deleted in one call, however many.
const server = await startRedis();
t.teardown(() => server.stop());
const redis = new Redis(server.url);
t.teardown(() => redis.disconnect());
const keys = createKeys();
const scripts = createScripts(redis, keys);

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
