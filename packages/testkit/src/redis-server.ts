import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child.js';
import { freePort } from './free-port.js';

export interface RedisServer {
  url: string;
  port: number;
  child: Child;
  stop(): Promise<void>;
}

export interface RedisOptions {
  /** Extra `redis-server` arguments, for example ['--appendonly', 'yes']. */
  args?: string[];
}

/** Starts Debian's redis-server on a free loopback port, with its data in a temporary directory. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = new Child('redis', 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...(options.args ?? []),
    ]);
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
