// REST: autocannon on history (a page of 50) and on the room list, against a Fastify hello-world
// route, in interleaved rounds of one run. One gateway process against one hello-world process.
//   npm run rest -w @parley/bench            (ROUNDS=3, DURATION_S=5, CONNECTIONS=20)
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Child, Stack } from '@parley/testkit';
import { fmt, summarize } from './lib/stats.js';

interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
}

async function cannon(target: Target, seconds: number, connections: number): Promise<number> {
  const result = await autocannon({ url: target.url, headers: target.headers, duration: seconds, connections });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

export async function runRest(rounds: number, seconds: number, connections: number, log: (l: string) => void = () => {}) {
  const cleanups: Array<() => unknown> = [];
  try {
    const stack = await Stack.start({ teardown: (fn) => cleanups.push(fn) }, { gateways: 1, persisters: 1 });
    const hello = new Child('hello', process.execPath, ['--import', 'tsx', fileURLToPath(new URL('systems/hello-node.ts', import.meta.url))]);
    cleanups.push(() => hello.kill('SIGKILL'));
    const helloPort = (JSON.parse(await hello.waitFor(/"msg":"ready"/)) as { port: number }).port;
    const [gw] = stack.gateways;
    // A reader in 20 rooms, one of them with 200 messages.
    const token = stack.token('reader');
    const room = await stack.createGroup('reader', []);
    for (let i = 1; i < 20; i++) await stack.createGroup('reader', []);
    for (let i = 0; i < 200; i++)
      await stack.http(gw!, 'POST', `/api/chats/${room}/messages`, token, {
        client_id: `m${i}`,
        message_type: 'text',
        content: `message ${i} `.padEnd(100, '.'),
      });
    const auth = { authorization: `Bearer ${token}` };
    const targets: Target[] = [
      { name: 'history (page of 50)', url: `${gw!.url}/api/chats/${room}/messages?limit=50`, headers: auth },
      { name: 'room list', url: `${gw!.url}/api/chats`, headers: auth },
      { name: 'hello world', url: `http://127.0.0.1:${helloPort}/hello` },
    ];
    const rows = new Map<string, number[]>(targets.map((t) => [t.name, []]));
    for (const target of targets) await cannon(target, 1, connections); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < targets.length; k++) {
        const target = targets[(r + k) % targets.length]!;
        const rps = await cannon(target, seconds, connections);
        rows.get(target.name)!.push(rps);
        log(`round ${r + 1} ${target.name}: ${fmt(rps, 0)} req/s`);
      }
    }
    return rows;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.ROUNDS ?? 3);
  const seconds = Number(process.env.DURATION_S ?? 5);
  const connections = Number(process.env.CONNECTIONS ?? 20);
  console.log(`rest: autocannon, ${connections} connections, ${rounds} interleaved rounds of ${seconds} s`);
  const rows = await runRest(rounds, seconds, connections, (l) => console.log(l));
  const hello = rows.get('hello world')!;
  for (const [name, values] of rows) {
    const ratio = summarize(values.map((v, i) => v / hello[i]!));
    console.log(`${name}: median ${fmt(summarize(values).median, 0)} req/s; / hello world ${fmt(ratio.median)} (${fmt(ratio.min)}–${fmt(ratio.max)})`);
  }
}
