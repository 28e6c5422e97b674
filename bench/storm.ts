// Reconnect storm: SOCKETS sockets (20 per user, the default per-user cap, each user in 3 rooms) on
// one gateway, which is killed; they come back to the two others with the SDK's full-jitter backoff
// and resume from the last seq they delivered, while messages go on in every room. Reports how long
// after the kill every socket was welcomed again and had every message, each once and in order.
//   npm run storm -w @parley/bench                  (SOCKETS=10000, JITTER_MS=4000)
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { ParleyClient } from '@parley/client';
import { createGroupRoom, ensureUsers } from '@parley/db';
import { eventually, Stack } from '@parley/testkit';
import { layeredRooms } from './lib/layered-rooms.js';
import { nextLocalAddress } from './lib/source-address.js';
import { fmt } from './lib/stats.js';

const SOCKETS_PER_USER = 20;
const ROOMS_PER_USER = 3;
const ROOM_SIZE = 10;

/** A ws client class whose sockets open from the next loopback source address (one address has ~28,000 ports). */
class SpreadWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { localAddress: nextLocalAddress() });
  }
}

export async function runStorm(sockets: number, jitterMs: number, log: (l: string) => void = () => {}) {
  const cleanups: Array<() => unknown> = [];
  try {
    const stack = await Stack.start({ teardown: (fn) => cleanups.push(fn) }, { gateways: 3, persisters: 1, productionTimings: true });
    const [gw1, gw2, gw3] = stack.gateways;
    const users = Array.from({ length: Math.ceil(sockets / SOCKETS_PER_USER) }, (_, i) => `storm${i}`);
    await ensureUsers(stack.db, [...users, 'talker']);
    const layout = layeredRooms(users, ROOMS_PER_USER, ROOM_SIZE);
    const rooms: number[] = [];
    for (const members of layout.members)
      rooms.push((await createGroupRoom(stack.db, 'talker', { name: `storm ${rooms.length}`, isPublic: false, memberIds: members })).id);
    const roomsOf = new Map([...layout.ofUser].map(([user, indices]) => [user, indices.map((i) => rooms[i]!)]));
    let first = true;
    let turn = 0;
    const url = () => (first ? gw1! : [gw2!, gw3!][turn++ % 2]!).wsUrl;
    const open = (user: string) => {
      const client = new ParleyClient({
        url,
        token: () => stack.token(user),
        WebSocket: SpreadWebSocket,
        reconnect: { initialDelayMs: jitterMs, maxDelayMs: jitterMs * 2 },
      });
      const seqs = new Map<number, number[]>();
      let welcomes = 0;
      client.on('message', (m) => {
        const list = seqs.get(m.chat_id) ?? [];
        list.push(m.seq);
        seqs.set(m.chat_id, list);
      });
      const welcomed = new Promise<void>((resolve) => client.on('welcome', () => (welcomes++, resolve())));
      client.connect();
      return { client, user, seqs, welcomed, welcomes: () => welcomes };
    };
    const all: Array<ReturnType<typeof open>> = [];
    cleanups.push(() => all.forEach((s) => s.client.close()));
    for (let i = 0; i < sockets; i += 200) {
      const opened = Array.from({ length: Math.min(200, sockets - i) }, (_, k) => open(users[(i + k) % users.length]!));
      all.push(...opened);
      await Promise.all(opened.map((s) => s.welcomed));
    }
    first = false;
    log(`${sockets} sockets of ${users.length} users open on gateway 1, in ${rooms.length} rooms`);

    const talker = open('talker');
    cleanups.push(() => talker.client.close());
    await talker.welcomed;
    const sent = new Map<number, number>(rooms.map((r) => [r, 0]));
    const say = async (room: number) => {
      await talker.client.send(room, 'storm');
      sent.set(room, sent.get(room)! + 1);
    };
    for (const room of rooms) await say(room);
    const complete = (s: (typeof all)[number]) =>
      roomsOf.get(s.user)!.every((room) => {
        const got = s.seqs.get(room) ?? [];
        return got.length === sent.get(room);
      });
    await eventually(() => all.every(complete), 60_000, 'every socket has the first message of each of its rooms');

    const killedAt = performance.now();
    await gw1!.child.kill('SIGKILL');
    // A message a second in each room while the sockets come back.
    let talking = true;
    const talk = (async () => {
      while (talking) {
        const round = performance.now();
        for (const room of rooms) await say(room);
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - round))));
      }
    })();
    await eventually(() => all.every((s) => s.welcomes() >= 2), 120_000, 'every socket reconnected');
    const welcomedMs = performance.now() - killedAt;
    talking = false;
    await talk;
    await eventually(() => all.every(complete), 120_000, 'every socket caught up');
    const resumedMs = performance.now() - killedAt;
    // Each seq once and in order: the seqs a socket got in a room run from the room's first without a gap.
    const inOrder = all.filter((s) => [...s.seqs.values()].every((got) => got.every((seq, i) => i === 0 || seq === got[i - 1]! + 1))).length;
    const [on2, on3] = [gw2!, gw3!].map((g) => g.child.lines.filter((l) => l.includes('"msg":"socket open"')).length);
    const messages = [...sent.values()].reduce((a, b) => a + b, 0);
    log(
      `welcomed again ${fmt(welcomedMs / 1000, 1)} s after the kill (${on2} on gateway 2, ${on3} on gateway 3); ` +
        `every socket had every message ${fmt(resumedMs / 1000, 1)} s after it; ${messages} messages; ${inOrder} of ${all.length} sockets saw each seq once, in order`,
    );
    return { welcomedMs, resumedMs, inOrder, sockets: all.length };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sockets = Number(process.env.SOCKETS ?? 10_000);
  const jitterMs = Number(process.env.JITTER_MS ?? 4000);
  console.log(
    `storm: ${sockets} sockets, ${SOCKETS_PER_USER} per user, each user in ${ROOMS_PER_USER} rooms of ${ROOM_SIZE}; reconnect jitter up to ${jitterMs} ms`,
  );
  const r = await runStorm(sockets, jitterMs, (l) => console.log(l));
  console.log(
    `storm: every client resumed within ${fmt(r.resumedMs / 1000, 1)} s; ${r.inOrder === r.sockets ? 'all' : `only ${r.inOrder} of ${r.sockets}`} in order`,
  );
}
