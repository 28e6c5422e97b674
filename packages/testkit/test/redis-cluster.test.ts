import t from 'tap';
import { Cluster } from 'ioredis';
import { closeRedis } from '@parley/redis';
import { startRedisCluster } from '@parley/testkit';

t.test('the kit starts a Redis Cluster of 3 masters with a replica each, and stops it', async (t) => {
  const cluster = await startRedisCluster();
  t.teardown(() => cluster.stop());
  const roles = (await cluster.cli(cluster.nodes[0]!.port, 'CLUSTER', 'NODES'))
    .trim()
    .split('\n')
    .map((line) => line.split(' ')[2]!.replace('myself,', ''));
  t.same(roles.sort(), ['master', 'master', 'master', 'slave', 'slave', 'slave'], '3 masters, 3 replicas');
  // Each node's cluster bus on a port chosen free, not port + 10000 (which may be another's).
  const buses = (await cluster.cli(cluster.nodes[0]!.port, 'CLUSTER', 'NODES'))
    .trim()
    .split('\n')
    .map((line) => line.split(' ')[1]!)
    .sort();
  t.same(buses, cluster.nodes.map((n) => `127.0.0.1:${n.port}@${n.busPort}`).sort(), 'every bus port is the one the kit chose');
  const client = new Cluster(cluster.seeds.slice(0, 1).map((s) => ({ host: '127.0.0.1', port: Number(new URL(s).port) })));
  t.teardown(() => closeRedis(client));
  // Keys whose slots lie on every master: written and read back through the cluster's redirections.
  for (const key of ['a', 'b', 'c', 'room:1', 'room:2', 'room:3']) await client.set(key, key.toUpperCase());
  t.same(await Promise.all(['a', 'b', 'c', 'room:1', 'room:2', 'room:3'].map((k) => client.get(k))), ['A', 'B', 'C', 'ROOM:1', 'ROOM:2', 'ROOM:3']);
  const perMaster = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
  t.equal(perMaster.length, 3);
  t.ok(
    perMaster.every((n) => n > 0),
    `every master holds some of them (${perMaster.join(', ')})`,
  );
  t.match(await cluster.cli(cluster.nodes[3]!.port, 'INFO', 'persistence'), /aof_enabled:1/, 'with the AOF of infra/redis.conf');
});
