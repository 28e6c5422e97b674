// Memory per idle connection: a gateway holding N authenticated sockets, each in 3 rooms, against a
// bare ws server holding N sockets, measured in the same run: RSS growth from /proc, and live JS
// heap growth after a full GC, read over the inspector protocol (both servers run with --inspect).
//   npm run connections -w @parley/bench           (CONNECTIONS=10000)
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createGroupRoom, ensureUsers } from '@parley/db';
import { Child, rssBytes, Stack } from '@parley/testkit';
import { nextLocalAddress } from './lib/source-address.js';
import { fmt } from './lib/stats.js';

const ROOMS_PER_CONNECTION = 3;
const ROOM_SIZE = 100;

/** Opens n sockets (50 at a time), each sending `hello` and waiting for a welcome. */
async function openMany(n: number, url: string, headers: (i: number) => Record<string, string>): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from(
      { length: Math.min(50, n - i) },
      (_, k) =>
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

/**
 * The live JS heap after a full GC, asked of the process over its inspector (it was started with
 * `--inspect=127.0.0.1:0`): unlike RSS, not a high-water mark of the connect storm.
 */
async function liveHeap(child: Child): Promise<number> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(await child.waitFor(/Debugger listening on/))![1]!;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, number>>((resolve) => {
      const mine = ++id;
      ws.on('message', (data) => {
        const reply = JSON.parse((data as Buffer).toString()) as { id?: number; result: Record<string, number> };
        if (reply.id === mine) resolve(reply.result);
      });
      ws.send(JSON.stringify({ id: mine, method }));
    });
  await call('HeapProfiler.collectGarbage');
  const { usedSize } = await call('Runtime.getHeapUsage');
  ws.close();
  return usedSize!;
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
    const bare = new Child('bare-ws', process.execPath, [
      '--inspect=127.0.0.1:0',
      '--import',
      'tsx',
      fileURLToPath(new URL('systems/bare-ws-node.ts', import.meta.url)),
    ]);
    cleanups.push(() => bare.kill('SIGKILL'));
    const barePort = (JSON.parse(await bare.waitFor(/"msg":"ready"/)) as { port: number }).port;

    const tokens = users.map((u) => stack.token(u));
    const measure = async (name: string, child: Child, open: () => Promise<WebSocket[]>) => {
      const heapBefore = await liveHeap(child);
      const before = await settledRss(child.pid);
      const sockets = await open();
      const after = await settledRss(child.pid);
      const heapAfter = await liveHeap(child);
      const afterGc = await settledRss(child.pid);
      const rss = (after - before) / n;
      const rssAfterGc = (afterGc - before) / n;
      const heap = (heapAfter - heapBefore) / n;
      log(
        `${name}: RSS ${fmt(before / 2 ** 20, 1)} MiB -> ${fmt(after / 2 ** 20, 1)} MiB (${fmt(afterGc / 2 ** 20, 1)} after a full GC), live heap ${fmt(heapBefore / 2 ** 20, 1)} -> ${fmt(heapAfter / 2 ** 20, 1)} MiB with ${n} connections`,
      );
      log(`${name}: per connection ${fmt(rss / 1024, 2)} KiB RSS, ${fmt(rssAfterGc / 1024, 2)} KiB RSS after a full GC, ${fmt(heap / 1024, 2)} KiB live heap`);
      for (const s of sockets) s.terminate();
      return { rss, rssAfterGc, heap };
    };
    const parley = await measure('parley gateway', gw!.child, () => openMany(n, gw!.wsUrl, (i) => ({ authorization: `Bearer ${tokens[i]}` })));
    const bareWs = await measure('bare ws', bare, () => openMany(n, `ws://127.0.0.1:${barePort}`, () => ({})));
    return { parley, bareWs };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.env.CONNECTIONS ?? 10_000);
  console.log(`connections: ${n} idle authenticated sockets, each in ${ROOMS_PER_CONNECTION} rooms, against bare ws`);
  const { parley, bareWs } = await runConnections(n, (l) => console.log(l));
  console.log(
    `per idle connection, RSS: parley ${fmt(parley.rss / 1024, 2)} KiB, bare ws ${fmt(bareWs.rss / 1024, 2)} KiB, ratio ${fmt(parley.rss / bareWs.rss)}`,
  );
  console.log(
    `per idle connection, RSS after a full GC: parley ${fmt(parley.rssAfterGc / 1024, 2)} KiB, bare ws ${fmt(bareWs.rssAfterGc / 1024, 2)} KiB, ratio ${fmt(parley.rssAfterGc / bareWs.rssAfterGc)}`,
  );
  console.log(
    `per idle connection, live heap: parley ${fmt(parley.heap / 1024, 2)} KiB, bare ws ${fmt(bareWs.heap / 1024, 2)} KiB, ratio ${fmt(parley.heap / bareWs.heap)}`,
  );
}
