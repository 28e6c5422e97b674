import t from 'tap';
import { fileURLToPath } from 'node:url';
import { Child, eventually, startRedisCluster } from '@parley/testkit';
import type { Cluster } from 'ioredis';
import { closeRedis, connectRedis } from '@parley/redis';

const fixture = fileURLToPath(new URL('./fixtures/close-mid-refresh.mjs', import.meta.url));

t.test('a cluster client closed while its slot refresh is in flight lets its process exit', async (t) => {
  const cluster = await startRedisCluster({ replicasPerMaster: 0 });
  t.teardown(() => cluster.stop());
  const child = new Child('close-mid-refresh', process.execPath, [fixture, String(cluster.nodes[0]!.port)]);
  t.teardown(() => child.kill('SIGKILL'));
  await child.waitFor(/closed while a slot refresh was in flight/, 30_000);
  // A re-armed refresh timer fires every 2 s and re-arms itself: a process holding one never exits.
  const exit = await eventually(() => child.exitInfo, 30_000, 'the process to exit by itself');
  t.same(exit, { code: 0, signal: null }, 'it exited with status 0');
});

t.test('a draining close ends within its bound though a node the client holds a connection to answers nothing', async (t) => {
  const cluster = await startRedisCluster({ replicasPerMaster: 0 });
  t.teardown(() => cluster.stop());
  const client = connectRedis({ mode: 'cluster', nodes: cluster.nodes.map(({ host, port }) => ({ host, port })) }, 'close-test') as Cluster;
  t.teardown(() => client.disconnect());
  const [node] = cluster.nodes;
  const held = await eventually(() => client.nodes('all').find((n) => n.options.port === node!.port), 10_000, 'the client to know the node');
  t.equal(await held.ping(), 'PONG', 'a connection to the node is open');
  // Stopped, it keeps the connection and answers nothing, as a node cut off by a partition does:
  // the QUIT that goes to every node the client knows is never answered.
  node!.child.proc.kill('SIGSTOP');
  t.teardown(() => node!.child.proc.kill('SIGCONT'));
  const started = Date.now();
  await closeRedis(client, { drain: true });
  const took = Date.now() - started;
  t.ok(took < 5000, `closed after ${took} ms`);
  await eventually(() => client.status === 'end', 5000, 'the client to end for good');
});
