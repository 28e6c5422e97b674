import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import { eventually } from './eventually.js';
import { freePort, onFreePorts } from './free-port.js';
import { scratchDir } from './scratch.js';

const run = promisify(execFile);
const redisConf = fileURLToPath(new URL('../../../infra/redis.conf', import.meta.url));

export interface SentinelNode {
  port: number;
  dir: string;
  child: Child;
}

export interface RedisSentinelSetup {
  /** The name the Sentinels know the master by. */
  name: string;
  /** The two data nodes: the first starts as the master, the second as its replica. */
  servers: SentinelNode[];
  sentinels: SentinelNode[];
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /** Starts a data node again on its port and data directory; the Sentinels make a former master a replica. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One master, one replica and three Sentinels (quorum 2, down-after 1 s) on free loopback ports,
 * with Parley's infra/redis.conf. Resolves once every Sentinel knows the master and its replica.
 */
export function startRedisSentinel(): Promise<RedisSentinelSetup> {
  return onFreePorts(startOnce);
}

async function startOnce(): Promise<RedisSentinelSetup> {
  const root = mkdtempSync(join(scratchDir(), 'parley-sentinel-'));
  const name = 'parley';
  const servers: SentinelNode[] = [];
  const sentinels: SentinelNode[] = [];
  const cli = async (port: number, ...command: string[]) => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...command])).stdout;
  // Each node runs from its own copy of infra/redis.conf: the Sentinels CONFIG REWRITE it as they
  // reconfigure replicas.
  const spawnServer = (port: number, dir: string, extra: string[]) => {
    const conf = join(dir, 'redis.conf');
    if (!existsSync(conf)) copyFileSync(redisConf, conf);
    return new Child(`redis-${port}`, 'redis-server', [conf, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...extra]);
  };
  const setup: RedisSentinelSetup = {
    name,
    servers,
    sentinels,
    async masterPort() {
      const [, port] = (await cli(sentinels[0]!.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)).trim().split('\n');
      return Number(port);
    },
    async restart(port) {
      const node = servers.find((s) => s.port === port);
      if (!node) throw new Error(`no data node on port ${port}`);
      await node.child.kill('SIGKILL');
      node.child = spawnServer(port, node.dir, []);
      await node.child.started(/Ready to accept connections/);
    },
    async stop() {
      await Promise.all([...sentinels, ...servers].map((n) => n.child.kill('SIGKILL')));
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(root, 'data-'));
      servers.push({ port, dir, child: spawnServer(port, dir, i === 0 ? [] : ['--replicaof', '127.0.0.1', String(servers[0]!.port)]) });
    }
    await Promise.all(servers.map((s) => s.child.started(/Ready to accept connections/)));
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(root, 'sentinel-'));
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${servers[0]!.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          '',
        ].join('\n'),
      );
      sentinels.push({ port, dir, child: new Child(`sentinel-${port}`, 'redis-server', [conf, '--sentinel']) });
    }
    await Promise.all(sentinels.map((s) => s.child.started(/\+monitor master/)));
    // Every Sentinel has found the replica and the other Sentinels (by the master's hello channel).
    await eventually(
      async () =>
        (
          await Promise.all(
            sentinels.map(async (s) => {
              const info = await cli(s.port, 'SENTINEL', 'MASTER', name);
              const field = (f: string) => Number(info.split('\n')[info.split('\n').indexOf(f) + 1]);
              return field('num-slaves') === 1 && field('num-other-sentinels') === 2;
            }),
          )
        ).every(Boolean),
      30_000,
      'the Sentinels know the replica and each other',
    );
    return setup;
  } catch (err) {
    await setup.stop();
    throw err;
  }
}
