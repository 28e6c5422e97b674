import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { parseClusterNodes } from '@parley/redis';
import { Child } from './child.js';
import { eventually } from './eventually.js';
import { freePort, onFreePorts } from './free-port.js';
import { scratchDir } from './scratch.js';

const run = promisify(execFile);
const redisConf = fileURLToPath(new URL('../../../infra/redis.conf', import.meta.url));

export interface RedisClusterNode {
  /** The loopback address it listens on and connects from: 127.0.0.1, or its own (ownAddresses). */
  host: string;
  port: number;
  /** Its cluster bus port, chosen free like `port` (by default Redis takes port + 10000, which may be taken). */
  busPort: number;
  /** Its own data directory (AOF, nodes.conf). */
  dir: string;
  child: Child;
}

export interface RedisCluster {
  nodes: RedisClusterNode[];
  /** `redis://HOST:PORT` of every node: the seeds a client starts from. */
  seeds: string[];
  /** Runs redis-cli against one node and resolves with its output (`['CLUSTER', 'INFO']`, say). */
  cli(port: number, ...args: string[]): Promise<string>;
  /**
   * The port of the master serving a slot now, from the first node that answers (CLUSTER NODES) of
   * `asking` (by port; every node unless given: across a network partition, the sides disagree).
   */
  masterOf(slot: number, asking?: number[]): Promise<number>;
  /** The ports of the replicas of the master on `port`, as that node knows them. */
  replicasOf(port: number): Promise<number[]>;
  /** Starts a node again, on its port and data directory (its AOF and nodes.conf): a killed master comes back as a replica. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** redis-server arguments over infra/redis.conf. */
  args?: string[];
  /**
   * Each node on a loopback address of its own, which it also connects from (`bind-source-addr`),
   * so that a test can cut the links between nodes by address (iptables) while clients on
   * 127.0.0.1 still reach every node: a network partition.
   */
  ownAddresses?: boolean;
}

/**
 * A Redis Cluster on free loopback ports, as in production but small: Parley's infra/redis.conf
 * (AOF on), `cluster-node-timeout` 2 s, masters with replicas (3 + 3 by default) formed as
 * `redis-cli --cluster create` forms them (slots, epochs, MEET, REPLICATE). Each server is a child of its own (its pid is the server's), so a
 * test can SIGKILL or SIGSTOP one. Resolves once every node reports `cluster_state:ok` and every
 * replica as a replica, in sync with its master.
 */
export function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  return onFreePorts(() => startOnce(options));
}

async function startOnce(options: RedisClusterOptions): Promise<RedisCluster> {
  const { masters = 3, replicasPerMaster = 1, args = [], ownAddresses = false } = options;
  // 127.A.B.i: A and B random, so that clusters of tests running side by side do not share addresses.
  const net = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const hostOf = (i: number) => (ownAddresses ? `${net}.${i + 1}` : '127.0.0.1');
  const root = mkdtempSync(join(scratchDir(), 'parley-redis-cluster-'));
  const nodes: RedisClusterNode[] = [];
  const cli = async (port: number, ...command: string[]) =>
    (await run('redis-cli', ['-h', nodes.find((n) => n.port === port)?.host ?? '127.0.0.1', '-p', String(port), ...command])).stdout;
  const table = async (port: number) => parseClusterNodes(await cli(port, 'CLUSTER', 'NODES').catch(() => ''));
  const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
  const spawn = ({ host, port, busPort, dir }: Omit<RedisClusterNode, 'child'>) =>
    new Child(`redis-cluster-${port}`, 'redis-server', [
      redisConf,
      '--port',
      String(port),
      '--cluster-port',
      String(busPort),
      '--bind',
      host,
      // Protected mode takes only 127.0.0.1 for local: the nodes' own loopback addresses are too.
      ...(host === '127.0.0.1' ? [] : ['--bind-source-addr', host, '--protected-mode', 'no']),
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
      ...args,
    ]);
  const cluster: RedisCluster = {
    nodes,
    seeds: [],
    cli,
    async masterOf(slot: number, asking?: number[]) {
      for (const node of nodes.filter((n) => !asking || asking.includes(n.port))) {
        for (const { address, flags, link, ranges } of await table(node.port)) {
          // `fail?` too: a master the node asked suspects is not named.
          if (!flags.includes('master') || flags.some((f) => f.startsWith('fail')) || link !== 'connected') continue;
          if (ranges.some(([from, to]) => slot >= from && slot <= to)) return portOf(address);
        }
      }
      throw new Error(`no node names a master of slot ${slot}`);
    },
    async replicasOf(port: number) {
      const rows = await table(port);
      const master = rows.find((r) => portOf(r.address) === port)!;
      const replicas = rows.filter((r) => r.flags.includes('slave') && r.master === master.id).map((r) => portOf(r.address));
      if (replicas.length === 0) throw new Error(`no replica of :${port}`);
      return replicas;
    },
    async restart(port: number) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no node on port ${port}`);
      await node.child.kill('SIGKILL');
      node.child = spawn(node);
      await node.child.started(/Ready to accept connections/);
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.child.kill('SIGKILL')));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    const taken = new Set<number>();
    const nextPort = async (): Promise<number> => {
      for (;;) {
        const port = await freePort();
        if (!taken.has(port)) return (taken.add(port), port);
      }
    };
    for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
      const [port, busPort] = [await nextPort(), await nextPort()];
      const node = { host: hostOf(i), port, busPort, dir: join(root, String(port)) };
      mkdirSync(node.dir);
      nodes.push({ ...node, child: spawn(node) });
    }
    await Promise.all(nodes.map((n) => n.child.started(/Ready to accept connections/)));
    // Formed by hand, as `redis-cli --cluster create` does but without its one-second waits: the
    // first nodes are masters with an even share of the slots and an epoch each, the others meet them
    // and replicate them in turn. Polled over a connection per node (a redis-cli per node and poll
    // would start hundreds of processes while the gossip spreads).
    const probes = nodes.map((n) => new Redis({ host: n.host, port: n.port, maxRetriesPerRequest: 1 }));
    try {
      const ids = (await Promise.all(probes.map((p) => p.call('CLUSTER', 'MYID')))) as string[];
      await Promise.all(
        probes.slice(0, masters).map(async (probe, i) => {
          const [from, to] = [Math.floor((16384 * i) / masters), Math.floor((16384 * (i + 1)) / masters) - 1];
          await probe.call('CLUSTER', 'ADDSLOTSRANGE', from, to);
          await probe.call('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
        }),
      );
      await Promise.all(nodes.slice(1).map((n) => probes[0]!.call('CLUSTER', 'MEET', n.host, n.port, n.busPort)));
      const knows = async (probe: Redis, id: string) => ((await probe.call('CLUSTER', 'NODES')) as string).includes(id);
      await Promise.all(
        probes.slice(masters).map(async (probe, j) => {
          const master = ids[j % masters]!;
          await eventually(() => knows(probe, master), 30_000, `a replica knows its master ${master}`);
          await probe.call('CLUSTER', 'REPLICATE', master);
        }),
      );
      const formed = async (probe: Redis) => {
        const [info, table] = (await Promise.all([probe.call('CLUSTER', 'INFO'), probe.call('CLUSTER', 'NODES')])) as [string, string];
        return info.includes('cluster_state:ok') && (table.match(/[ ,]slave /g) ?? []).length === masters * replicasPerMaster;
      };
      // And each master's replicas synced: until then a master run with `min-replicas-to-write`
      // refuses writes, and WAIT finds no replica.
      const synced = async (probe: Redis) => {
        const info = await probe.info('replication');
        return !info.includes('role:master') || (info.match(/state=online/g) ?? []).length === replicasPerMaster;
      };
      await eventually(
        async () => (await Promise.all(probes.map(formed))).every(Boolean) && (await Promise.all(probes.map(synced))).every(Boolean),
        30_000,
        'the cluster formed on every node, each replica in sync',
      );
    } finally {
      probes.forEach((probe) => probe.disconnect());
    }
    cluster.seeds.push(...nodes.map((n) => `redis://${n.host}:${n.port}`));
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
