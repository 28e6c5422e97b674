import t from 'tap';
import { fileURLToPath } from 'node:url';
import { Child, eventually, startRedisCluster } from '@parley/testkit';

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
