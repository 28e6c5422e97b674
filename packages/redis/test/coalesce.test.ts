import t from 'tap';
import { Redis } from 'ioredis';
import { startRedis } from '@parley/testkit';
import { coalesceWrites, connectRedis, type RedisClient } from '@parley/redis';

/** How many reads a Redis server has made from its clients' sockets (INFO stats). */
async function readsOf(port: number): Promise<number> {
  const probe = new Redis(port, '127.0.0.1');
  const info = await probe.info('stats');
  probe.disconnect();
  return Number(/total_reads_processed:(\d+)/.exec(info)![1]);
}

/** 200 commands issued in one turn of the event loop; their replies. */
function burst(client: RedisClient, key: string) {
  return Promise.all(Array.from({ length: 200 }, (_, i) => client.hset(key, `f${i}`, i)));
}

t.test('the commands of one turn reach Redis in one write, and all are answered in order', async (t) => {
  const server = await startRedis();
  t.teardown(() => server.stop());
  const plain = connectRedis({ mode: 'standalone', url: server.url }, 'plain');
  const coalesced = connectRedis({ mode: 'standalone', url: server.url }, 'coalesced');
  coalesceWrites(coalesced);
  t.teardown(() => Promise.all([plain.quit(), coalesced.quit()]));
  await Promise.all([plain.ping(), coalesced.ping()]);

  // Each probe's own connection and command count a few reads too: one write each would be 200.
  let before = await readsOf(server.port);
  t.same(await burst(coalesced, 'coalesced'), Array(200).fill(1), 'every command answered');
  const coalescedReads = (await readsOf(server.port)) - before;
  before = await readsOf(server.port);
  await burst(plain, 'plain');
  const plainReads = (await readsOf(server.port)) - before;
  t.comment(`reads for 200 commands: ${coalescedReads} coalesced, ${plainReads} one write each`);
  t.ok(coalescedReads <= 20, `coalesced: ${coalescedReads} reads`);
  t.same(await coalesced.hmget('coalesced', 'f0', 'f199'), ['0', '199'], 'written in order');

  // A reconnect opens a new socket: it is covered too.
  coalesced.disconnect(true);
  await coalesced.ping();
  before = await readsOf(server.port);
  await burst(coalesced, 'again');
  t.ok((await readsOf(server.port)) - before <= 20, 'after a reconnect as well');
});
