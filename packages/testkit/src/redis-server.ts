import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import { freePort, onFreePorts } from './free-port.js';
import { scratchDir } from './scratch.js';

export interface RedisServer {
  url: string;
  port: number;
  /** The data directory: the AOF is in its appendonlydir/. */
  dir: string;
  child: Child;
  /**
   * SIGKILLs the server and starts it again on the same port and data directory (its AOF), once
   * `whileDown` (say, awaiting the clients' connection errors) has resolved.
   */
  restart(whileDown?: () => Promise<unknown>): Promise<void>;
  stop(): Promise<void>;
}

const redisConf = fileURLToPath(new URL('../../../infra/redis.conf', import.meta.url));

/**
 * Starts Debian's redis-server with Parley's infra/redis.conf (AOF on) on a free loopback port,
 * with its data in a temporary directory; `args` override the file (`--appendfsync always`, say).
 */
export async function startRedis(args: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(scratchDir(), 'parley-redis-'));
  const spawnOn = async (port: number) => {
    const child = new Child('redis', 'redis-server', [redisConf, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args]);
    await child.started(/Ready to accept connections/);
    return child;
  };
  const { port, child } = await onFreePorts(async () => {
    const port = await freePort();
    return { port, child: await spawnOn(port) };
  }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    child,
    async restart(whileDown) {
      await server.child.kill('SIGKILL');
      await whileDown?.();
      server.child = await spawnOn(port);
    },
    async stop() {
      await server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
