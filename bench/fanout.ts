// WebSocket fan-out: Parley against Socket.IO + @socket.io/redis-adapter, against the same guarantees
// built on Socket.IO (Redis Streams adapter, connection state recovery, Postgres before the ack) and
// against a bare ws relay (the floor), each with 3 nodes and its own Redis, in interleaved rounds.
//   npm run fanout -w @parley/bench                      the three workloads of bench/README.md
//   ROUNDS=5 DURATION_MS=8000 npm run fanout -w @parley/bench
//   WORKLOAD='100 rooms of 10' RATE=4000 npm run fanout -w @parley/bench   one workload, at 4,000 messages/s
//   SYSTEMS=parley,socketio npm run fanout -w @parley/bench                 only these systems
//   COLD=1 DURATION_MS=10000 npm run fanout -w @parley/bench   each round on new clients in new rooms, sending from the last welcome
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './lib/proc-cpu.js';
import { latencyHistogram, now, percentiles, type Percentiles } from './lib/latency.js';
import { loopDelayBuckets, loopDelayQuantileMs } from './lib/loop-delay.js';
import { openLoop } from './lib/open-loop.js';
import { fmt, summarize } from './lib/stats.js';
import { startFloor, startParley, startSocketIo, startSocketIoDurable, type BenchClient, type SystemUnderTest } from './lib/systems.js';

export interface Workload {
  name: string;
  clients: number;
  rooms: number;
  /** Messages per second offered, over all senders; deliveries are this times the room size. */
  rate: number;
}

export const workloads: Workload[] = [
  { name: '1,000 clients in 100 rooms of 10', clients: 1000, rooms: 100, rate: 800 },
  { name: '1,000 clients in 10 rooms of 100', clients: 1000, rooms: 10, rate: 80 },
  { name: 'one room of 2,000', clients: 2000, rooms: 1, rate: 4 },
];

export interface RoundResult {
  system: SystemUnderTest['name'];
  sent: number;
  expected: number;
  delivered: number;
  deliveriesPerSecond: number;
  latency: Percentiles;
  /** p99 in ms of the messages due in the round's first FIRST_WINDOW_MS. */
  firstP99: number;
  /** Parley only: the highest of the gateways' event-loop delay p99 over the round, in ms. */
  loopDelayP99?: number;
  /** CPU seconds per 1,000 deliveries: gateways (nodes) + Redis, and persister + Postgres. */
  frontCpuPer1k: number;
  backCpuPer1k: number;
  /** The front split: the nodes' share and Redis' share. */
  nodesCpuPer1k: number;
  redisCpuPer1k: number;
  /** Parley only: for probes of messages sent during the round, ms from the send until search found it (undefined: not within SEARCH_WAIT_MS). */
  searchLagMs?: Array<number | undefined>;
}

const BODY_BYTES = 100;
/** The start of a round, reported on its own: right after clients connect, caches are cold. */
const FIRST_WINDOW_MS = 10_000;
/** How long to wait for the last deliveries after the last send. */
const DRAIN_MS = 10_000;

export interface Loaded {
  system: SystemUnderTest;
  clients: Array<{ client: BenchClient; room: string; user: string }>;
  received: number;
  histogram: ReturnType<typeof latencyHistogram>;
  /** The latencies of messages due before `firstUntil`. */
  first: ReturnType<typeof latencyHistogram>;
  firstUntil: number;
  lastDelivery: number;
}

/** Which node client `client`, a member of room `room`, connects to. */
export type Placement = (client: number, room: number, nodes: number) => number;

/** Client i on node i mod nodes: every room has members on every node. */
export const spread: Placement = (client, _room, nodes) => client % nodes;

/** Connects `workload.clients` clients to `system`, rooms filled in order, each client on the node `placement` names. */
export async function load(system: SystemUnderTest, workload: Workload, placement: Placement = spread): Promise<Loaded> {
  const size = workload.clients / workload.rooms;
  const tag = Math.random().toString(36).slice(2, 7);
  const members = Array.from({ length: workload.rooms }, (_, r) => Array.from({ length: size }, (_, k) => `${tag}-${r * size + k}`));
  const rooms = await system.setupRooms(members);
  const loaded: Loaded = { system, clients: [], received: 0, histogram: latencyHistogram(), first: latencyHistogram(), firstUntil: 0, lastDelivery: 0 };
  const onMessage = (body: string) => {
    const t = now();
    const due = Number.parseFloat(body);
    const us = Math.max(1, Math.round((t - due) * 1000));
    loaded.received++;
    loaded.lastDelivery = t;
    loaded.histogram.recordValue(us);
    if (due < loaded.firstUntil) loaded.first.recordValue(us);
  };
  // Connect in batches so that the handshakes do not all land in one instant.
  for (let i = 0; i < workload.clients; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(i + 50, workload.clients); j++) {
      const room = rooms[Math.floor(j / size)]!;
      const user = members[Math.floor(j / size)]![j % size]!;
      batch.push(system.connect(placement(j, Math.floor(j / size), system.nodes), user, [room], onMessage).then((client) => ({ client, room, user })));
    }
    loaded.clients.push(...(await Promise.all(batch)));
  }
  return loaded;
}

export async function round(l: Loaded, workload: Workload, durationMs: number): Promise<RoundResult> {
  const size = workload.clients / workload.rooms;
  l.received = 0;
  l.histogram = latencyHistogram();
  l.first = latencyHistogram();
  const gatewayUrls = l.system.stack?.gateways.map((g) => g.url) ?? [];
  const loop0 = await loopDelayBuckets(gatewayUrls);
  const nodes0 = cpuSeconds(l.system.nodePids());
  const redis0 = cpuSeconds(l.system.redisPids());
  const back0 = cpuSeconds(l.system.backPids());
  const start = now();
  l.firstUntil = start + FIRST_WINDOW_MS;
  const probes: Array<Promise<number | undefined>> = [];
  let nextProbe = start;
  const sent = await openLoop(workload.rate, durationMs, (i, dueAt) => {
    // Spread senders over rooms and nodes: consecutive messages come from different rooms.
    const sender = l.clients[(i * size + Math.floor(i / workload.rooms)) % l.clients.length]!;
    const stamp = dueAt.toFixed(3);
    sender.client.send(sender.room, stamp.padEnd(BODY_BYTES, '.'));
    if (l.system.stack && dueAt >= nextProbe) {
      nextProbe = dueAt + SEARCH_PROBE_EVERY_MS;
      probes.push(searchLag(l.system.stack, sender.user, sender.room, stamp, dueAt));
    }
  });
  const expected = sent * size;
  const deadline = now() + DRAIN_MS;
  while (l.received < expected && now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const nodes1 = cpuSeconds(l.system.nodePids());
  const redis1 = cpuSeconds(l.system.redisPids());
  const back1 = cpuSeconds(l.system.backPids());
  const loop1 = await loopDelayBuckets(gatewayUrls);
  const delivered = l.received;
  const per1k = (seconds: number) => (seconds / Math.max(1, delivered)) * 1000;
  return {
    system: l.system.name,
    sent,
    expected,
    delivered,
    deliveriesPerSecond: delivered / ((Math.max(l.lastDelivery, start + durationMs) - start) / 1000),
    latency: percentiles(l.histogram),
    firstP99: percentiles(l.first).p99,
    ...(gatewayUrls.length > 0 ? { loopDelayP99: Math.max(...loop1.map((after, i) => loopDelayQuantileMs(loop0[i]!, after, 0.99))) } : {}),
    frontCpuPer1k: per1k(nodes1 - nodes0 + redis1 - redis0),
    backCpuPer1k: per1k(back1 - back0),
    nodesCpuPer1k: per1k(nodes1 - nodes0),
    redisCpuPer1k: per1k(redis1 - redis0),
    ...(l.system.stack ? { searchLagMs: await Promise.all(probes) } : {}),
  };
}

/** How often a message sent is probed for by search, and how long search may take to find it. */
const SEARCH_PROBE_EVERY_MS = 500;
const SEARCH_WAIT_MS = 30_000;

/** Asks search, every 100 ms, for the message stamped `stamp` in `room`; resolves with the ms since its send once found. */
async function searchLag(stack: NonNullable<SystemUnderTest['stack']>, user: string, room: string, stamp: string, sentAt: number): Promise<number | undefined> {
  const token = stack.token(user);
  const gateway = stack.gateways[0]!;
  while (now() - sentAt < SEARCH_WAIT_MS) {
    const found = await stack.http<{ messages?: unknown[] }>(gateway, 'GET', `/api/messages/search?keyword=${stamp}&chat_id=${room}&limit=1`, token);
    if ((found.body?.messages?.length ?? 0) > 0) return now() - sentAt;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

const starters = { parley: startParley, socketio: startSocketIo, 'socketio-durable': startSocketIoDurable, floor: startFloor };
export type BenchSystem = keyof typeof starters;
export const benchSystems = Object.keys(starters) as BenchSystem[];
export const startSystem = (name: BenchSystem): Promise<SystemUnderTest> => starters[name]();

export interface FanoutOptions {
  workloads: Workload[];
  rounds: number;
  durationMs: number;
  warmupMs: number;
  /** Each round on a new set of clients in new rooms, sending the moment the last one is welcomed (no warm-up). */
  cold?: boolean;
  systems?: BenchSystem[];
  log?: (line: string) => void;
}

/** Runs every workload on every system, rounds interleaved (A B C, A B C, …); returns every round. */
export async function runFanout(options: FanoutOptions): Promise<Map<string, RoundResult[]>> {
  const log = options.log ?? (() => {});
  const systems: SystemUnderTest[] = [];
  for (const name of options.systems ?? benchSystems) systems.push(await startSystem(name));
  const results = new Map<string, RoundResult[]>();
  try {
    for (const workload of options.workloads) {
      const loaded: Loaded[] = [];
      if (!options.cold) for (const s of systems) loaded.push(await load(s, workload));
      for (const l of loaded) if (options.warmupMs > 0) await round(l, workload, options.warmupMs);
      const rows: RoundResult[] = [];
      for (let r = 0; r < options.rounds; r++) {
        // Rotate which system goes first, so that none always runs right after another's load.
        for (let k = 0; k < systems.length; k++) {
          const l = options.cold ? await load(systems[(r + k) % systems.length]!, workload) : loaded[(r + k) % loaded.length]!;
          const row = await round(l, workload, options.durationMs);
          if (options.cold) await Promise.all(l.clients.map((c) => c.client.disconnect()));
          rows.push(row);
          log(
            `${workload.name} round ${r + 1} ${row.system}: ${row.delivered}/${row.expected} delivered, ${fmt(row.deliveriesPerSecond, 0)}/s, p99 ${fmt(row.latency.p99)} ms ` +
              `(first ${FIRST_WINDOW_MS / 1000} s ${fmt(row.firstP99)})${row.loopDelayP99 === undefined ? '' : `, loop delay p99 ${fmt(row.loopDelayP99)} ms`}, ` +
              `CPU/1k ${fmt(row.frontCpuPer1k, 3)} + ${fmt(row.backCpuPer1k, 3)} s`,
          );
        }
      }
      results.set(workload.name, rows);
      for (const l of loaded) for (const c of l.clients) c.client.close();
    }
  } finally {
    for (const s of systems) await s.stop();
  }
  return results;
}

/** Per-round ratios of Parley to another system for one metric, summarized. */
function ratio(rows: RoundResult[], other: RoundResult['system'], metric: (r: RoundResult) => number) {
  const parley = rows.filter((r) => r.system === 'parley');
  const others = rows.filter((r) => r.system === other);
  return summarize(parley.map((p, i) => metric(p) / metric(others[i]!)));
}

export function report(results: Map<string, RoundResult[]>): string {
  const lines: string[] = [];
  const show = (s: { median: number; min: number; max: number }) => `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
  for (const [name, rows] of results) {
    lines.push(`\n### ${name}\n`);
    lines.push(
      `| system | delivered/expected | deliveries/s | p50 ms | p99 ms | p99.9 ms | p99 ms, first ${FIRST_WINDOW_MS / 1000} s | gateways' event-loop delay p99 ms | CPU s/1k deliveries: gateways+Redis (gateways, Redis) | persister+Postgres |`,
    );
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const system of benchSystems) {
      const mine = rows.filter((r) => r.system === system);
      if (mine.length === 0) continue;
      const med = (f: (r: RoundResult) => number) => fmt(summarize(mine.map(f)).median, 3);
      const delivered = mine.reduce((a, r) => a + r.delivered, 0);
      const expected = mine.reduce((a, r) => a + r.expected, 0);
      lines.push(
        `| ${system} | ${delivered}/${expected} (${fmt((delivered / expected) * 100, 2)}%) | ${med((r) => r.deliveriesPerSecond)} | ${med((r) => r.latency.p50)} | ${med((r) => r.latency.p99)} | ${med((r) => r.latency.p999)} | ${med((r) => r.firstP99)} | ${mine.some((r) => r.loopDelayP99 !== undefined) ? med((r) => r.loopDelayP99 ?? Number.NaN) : '—'} | ${med((r) => r.frontCpuPer1k)} (${med((r) => r.nodesCpuPer1k)}, ${med((r) => r.redisCpuPer1k)}) | ${med((r) => r.backCpuPer1k)} |`,
      );
    }
    const lags = rows.flatMap((r) => r.searchLagMs ?? []);
    if (lags.length > 0) {
      const found = lags.filter((l): l is number => l !== undefined);
      const lag = summarize(found.length > 0 ? found : [Number.NaN]);
      lines.push('');
      lines.push(
        `Parley search: ${found.length} of ${lags.length} probed messages found (one every ${SEARCH_PROBE_EVERY_MS} ms of sending), ` +
          `ms from send to found: median ${fmt(lag.median, 0)}, max ${fmt(lag.max, 0)}.`,
      );
    }
    const has = (s: string) => rows.some((r) => r.system === s) && rows.some((r) => r.system === 'parley');
    if (has('socketio')) {
      lines.push('');
      lines.push(
        `Parley / Socket.IO, median (min–max) over rounds: deliveries/s ${show(ratio(rows, 'socketio', (r) => r.deliveriesPerSecond))}; ` +
          `CPU per delivery, gateways+Redis ${show(ratio(rows, 'socketio', (r) => r.frontCpuPer1k))}; ` +
          `everything included ${show(ratio(rows, 'socketio', (r) => r.frontCpuPer1k + r.backCpuPer1k))}; ` +
          `p50 ${show(ratio(rows, 'socketio', (r) => r.latency.p50))}; p99 ${show(ratio(rows, 'socketio', (r) => r.latency.p99))}; ` +
          `p99 over the first ${FIRST_WINDOW_MS / 1000} s ${show(ratio(rows, 'socketio', (r) => r.firstP99))}.`,
      );
    }
    if (has('socketio-durable')) {
      lines.push('');
      lines.push(
        `Parley / Socket.IO with the same guarantees: deliveries/s ${show(ratio(rows, 'socketio-durable', (r) => r.deliveriesPerSecond))}; ` +
          `CPU per delivery, everything included ${show(ratio(rows, 'socketio-durable', (r) => r.frontCpuPer1k + r.backCpuPer1k))}; ` +
          `p50 ${show(ratio(rows, 'socketio-durable', (r) => r.latency.p50))}; p99 ${show(ratio(rows, 'socketio-durable', (r) => r.latency.p99))}.`,
      );
    }
    if (has('floor')) {
      lines.push(
        `Parley / floor relay: CPU per delivery, gateways+Redis ${show(ratio(rows, 'floor', (r) => r.frontCpuPer1k))}.` +
          (has('socketio')
            ? ` Floor / Socket.IO: ${show(summarize(rows.filter((r) => r.system === 'floor').map((f, i) => f.frontCpuPer1k / rows.filter((r) => r.system === 'socketio')[i]!.frontCpuPer1k)))}.`
            : ''),
      );
    }
  }
  return lines.join('\n');
}

/** The systems `SYSTEMS` names (comma-separated), or undefined for all of them. */
export function systemsFromEnv(): BenchSystem[] | undefined {
  const systems = process.env.SYSTEMS?.split(',') as BenchSystem[] | undefined;
  const unknown = systems?.filter((s) => !benchSystems.includes(s));
  if (unknown?.length) throw new Error(`SYSTEMS: unknown ${unknown.join(', ')}; known: ${benchSystems.join(', ')}`);
  return systems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.env.ROUNDS ?? 3);
  const durationMs = Number(process.env.DURATION_MS ?? 5000);
  const chosen = process.env.WORKLOAD ? workloads.filter((w) => w.name.includes(process.env.WORKLOAD!)) : workloads;
  // RATE: messages per second offered, in place of each workload's own.
  const only = process.env.RATE ? chosen.map((w) => ({ ...w, rate: Number(process.env.RATE) })) : chosen;
  const systems = systemsFromEnv();
  // COLD=1: every round on new clients in new rooms, sending from the moment the last is welcomed.
  const cold = process.env.COLD === '1';
  console.log(
    `fan-out: ${rounds} interleaved rounds of ${durationMs} ms per system and workload, ${BODY_BYTES}-byte bodies` +
      (cold ? ', each on new clients in new rooms, sending from the last welcome' : ''),
  );
  const results = await runFanout({ workloads: only, rounds, durationMs, warmupMs: 2000, cold, systems, log: (l) => console.log(l) });
  console.log(report(results));
}
