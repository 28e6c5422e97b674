import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './child.js';
import { freePort } from './free-port.js';

export interface RedisServer {
  url: string;
  port: number;
  child: Child;
  stop(): Promise<void>;
}

const redisConf = fileURLToPath(new URL('../../../infra/redis.conf', import.meta.url));

/**
 * Starts Debian's redis-server with Parley's infra/redis.conf (AOF on) on a free loopback port,
 * with its data in a temporary directory.
 */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = new Child('redis', 'redis-server', [redisConf, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir]);
    try {
      await child.waitFor(/Ready to accept connections/);
    } catch (err) {
      // Another process took the port between freePort and the bind: try another.
      if (attempt < 3 && child.lines.some((l) => /Address already in use/.test(l))) continue;
      throw err;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      child,
      async stop() {
        await child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
