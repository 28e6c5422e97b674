import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The first port of the kernel's ephemeral range (outgoing connections take their local ports from
 * it), or undefined where it cannot be read.
 */
function ephemeralFloor(): number | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && low > 12_000 ? low : undefined;
  } catch {
    return undefined;
  }
}
const floor = ephemeralFloor();

function listenable(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as { port: number };
      srv.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot listen on port 0).
 * Chosen at random below the ephemeral range where the kernel says where that is: a port from the
 * range, free when tested, can be taken before the server binds it by any outgoing connection on the
 * machine (a Redis node's cluster bus port was, in CI); below it only another listener can take it.
 */
export async function freePort(): Promise<number> {
  if (floor !== undefined) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await listenable(10_000 + Math.floor(Math.random() * (floor - 10_000)));
      if (port !== undefined) return port;
    }
  }
  const port = await listenable(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

/**
 * Starts a server on ports `start` takes from freePort, and starts it again on others when one was
 * taken between freePort and the bind (Redis: "Address already in use"; Postgres: "could not bind"):
 * four tries at most.
 */
export async function onFreePorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt < 3 && /Address already in use|could not bind/.test(String(err))) continue;
      throw err;
    }
  }
}
