import t from 'tap';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, eventually, freePort, scratchDir, runParley, TestClient } from '@parley/testkit';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = mkdtempSync(join(scratchDir(), 'parley-shards-'));
t.teardown(() => {
  // As root, Postgres' files live where the postgres user can reach them, linked from here (cluster.sh).
  const pg = join(data, 'postgres');
  if (existsSync(pg) && lstatSync(pg).isSymbolicLink()) rmSync(dirname(readlinkSync(pg)), { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer().once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
/**
 * A base port with the eight after it free, and their cluster bus ports (port + 10000): the nine Redis
 * nodes take consecutive ports. Chosen below the range the kernel hands out to other sockets
 * (ip_local_port_range, 32768 and up), so that no connection of a test running beside this one
 * takes one while the script builds and starts.
 */
async function nineFreePorts(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 2_700);
    const ports = Array.from({ length: 9 }, (_, i) => [base + i, base + i + 10_000]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
}

t.test('infra/cluster.sh with REDIS_SHARDS=3: a Redis Cluster of 3 masters with 2 replicas each under the gateways', async (t) => {
  const redisPort = await nineFreePorts();
  const ports = { lb: await freePort(), pg: await freePort(), gateways: [await freePort(), await freePort()] };
  const env = {
    ...process.env,
    PARLEY_DATA: data,
    REDIS_SHARDS: '3',
    REDIS_PORT: String(redisPort),
    LB_PORT: String(ports.lb),
    PG_PORT: String(ports.pg),
    GATEWAY_PORTS: ports.gateways.join(','),
    PERSISTERS: '1',
    METRICS_PORT_BASE: '0',
  };
  const cluster = new Child('cluster', 'bash', [join(root, 'infra/cluster.sh'), 'start'], { env, cwd: root });
  await cluster.started(/cluster ready/, 60_000);
  const nodes = Array.from({ length: 9 }, (_, i) => `127.0.0.1:${redisPort + i}`).join(',');
  t.ok(
    cluster.lines.some((l) => l.includes('cluster of 3 masters × 2 replicas')),
    'the script says what it started',
  );
  t.ok(
    cluster.lines.some((l) => l.includes(`REDIS_CLUSTER_NODES=${nodes} npx parley status`)),
    'and how to reach it',
  );

  const lb = `http://127.0.0.1:${ports.lb}`;
  const token = (await (await fetch(`${lb}/dev/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sub":"ana"}' })).json())
    .token as string;
  const created = await (
    await fetch(`${lb}/api/chats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: 'group', name: 'shards' }),
    })
  ).json();
  const { client } = await TestClient.open(`ws://127.0.0.1:${ports.lb}/ws`, token);
  const ack = await client.sendMessage(created.id, 'over three shards', 'shards-1');
  t.match(ack, { type: 'ack', seq: 1 }, 'a send is acked');
  t.match(await client.waitForSeq(created.id, 1), { content: 'over three shards' }, 'and delivered');
  await client.close();

  const status = await eventually(
    async () => {
      const s = (await runParley({ REDIS_CLUSTER_NODES: nodes }, 'status', '--json')).json;
      return s.gateways.length === 2 && s.persister.stream_length === 0 && s.persister.consumers.length === 1 && s;
    },
    20_000,
    'parley status on the cluster: both gateways, the stream drained',
  );
  t.match(status.persister, { pending: 0, dead_letters: 0 });
  const info = new Child('cluster-info', 'redis-cli', ['-p', String(redisPort), 'cluster', 'info']);
  await info.exited;
  t.ok(info.lines.includes('cluster_state:ok') && info.lines.includes('cluster_size:3'), 'Redis: cluster_state ok, 3 masters');
  const table = new Child('cluster-nodes', 'redis-cli', ['-p', String(redisPort), 'cluster', 'nodes']);
  await table.exited;
  t.equal(table.lines.filter((l) => / slave /.test(l)).length, 6, 'and 2 replicas of each');

  const run = join(data, 'run');
  const pids = readdirSync(run)
    .filter((f) => /^redis-\d+\.pid$/.test(f))
    .map((f) => Number(readFileSync(join(run, f), 'utf8')));
  t.equal(pids.length, 9, 'nine Redis nodes recorded');
  await cluster.kill('SIGTERM');
  t.same(
    (await Promise.all(Array.from({ length: 9 }, (_, i) => portFree(redisPort + i)))).filter((free) => !free),
    [],
    'every Redis node stopped with the cluster',
  );
});
