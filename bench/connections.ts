// Memory per idle connection: a gateway holding N authenticated sockets, each in 3 rooms, against a
// bare ws server holding N sockets, measured in the same run (RSS growth from /proc).
//   npm run connections -w @parley/bench           (CONNECTIONS=10000)
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createGroupRoom, ensureUsers } from '@parley/db';
import { Child, Stack } from '@parley/testkit';
import { rssBytes } from './lib/proc-cpu.js';
import { nextLocalAddress } from './lib/source-address.js';
import { fmt } from './lib/stats.js';

const ROOMS_PER_CONNECTION = 3;
const ROOM_SIZE = 100;

/** Opens n sockets (50 at a time), each sending `hello` and waiting for a welcome. */
async function openMany(n: number, url: string, headers: (i: number) => Record<string, string>): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url, { headers: headers(i + k), localAddress: nextLocalAddress() });
        ws.once('message', () => resolve(ws));
        ws.once('open', () => ws.send('{"type":"hello"}'));
        ws.once('error', reject);
      }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** RSS after the process settles: the lowest of a few readings a little apart. */
async function settledRss(pid: number): Promise<number> {
  let low = Infinity;
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 400));
    low = Math.min(low, rssBytes(pid));
  }
  return low;
}

export async function runConnections(n: number, log: (l: string) => void = () => {}) {
  const cleanups: Array<() => unknown> = [];
  try {
    const stack = await Stack.start({ teardown: (fn) => cleanups.push(fn) }, { gateways: 1, persisters: 0 });
    const [gw] = stack.gateways;
    const users = Array.from({ length: n }, (_, i) => `c${i}`);
    await ensureUsers(stack.db, users);
    // Each user in 3 rooms of ROOM_SIZE: rooms are consecutive slices, shifted per membership.
    const roomsPerLayer = Math.ceil(n / ROOM_SIZE);
    for (let layer = 0; layer < ROOMS_PER_CONNECTION; layer++) {
      for (let r = 0; r < roomsPerLayer; r++) {
        const members = users.filter((_, i) => Math.floor(((i + layer * 7) % n) / ROOM_SIZE) === r);
        if (members.length) await createGroupRoom(stack.db, members[0]!, { name: `l${layer}r${r}`, isPublic: false, memberIds: members });
      }
    }
    const bare = new Child('bare-ws', process.execPath, ['--import', 'tsx', fileURLToPath(new URL('systems/bare-ws-node.ts', import.meta.url))]);
    cleanups.push(() => bare.kill('SIGKILL'));
    const barePort = (JSON.parse(await bare.waitFor(/"msg":"ready"/)) as { port: number }).port;

    const tokens = users.map((u) => stack.token(u));
    const measure = async (name: string, pid: number, open: () => Promise<WebSocket[]>) => {
      const before = await settledRss(pid);
      const sockets = await open();
      const after = await settledRss(pid);
      const perConnection = (after - before) / n;
      log(`${name}: RSS ${fmt(before / 2 ** 20, 1)} MiB -> ${fmt(after / 2 ** 20, 1)} MiB with ${n} connections: ${fmt(perConnection / 1024, 2)} KiB each`);
      for (const s of sockets) s.terminate();
      return perConnection;
    };
    const parley = await measure('parley gateway', gw!.child.pid, () => openMany(n, gw!.wsUrl, (i) => ({ authorization: `Bearer ${tokens[i]}` })));
    const bareWs = await measure('bare ws', bare.pid, () => openMany(n, `ws://127.0.0.1:${barePort}`, () => ({})));
    return { parley, bareWs };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.env.CONNECTIONS ?? 10_000);
  console.log(`connections: ${n} idle authenticated sockets, each in ${ROOMS_PER_CONNECTION} rooms, against bare ws`);
  const { parley, bareWs } = await runConnections(n, (l) => console.log(l));
  console.log(`per idle connection: parley ${fmt(parley / 1024, 2)} KiB, bare ws ${fmt(bareWs / 1024, 2)} KiB, ratio ${fmt(parley / bareWs)}`);
}
