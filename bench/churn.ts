// What a connection costs the servers from open to close: Parley's handshake (JWT), `hello` with
// three rooms and the close, against Socket.IO's connect, join of three rooms and disconnect, 3 nodes
// each, interleaved rounds of one run. CPU is counted from the first connect until the nodes are
// idle again after the last close, so the presence announcements a connection causes (and, in
// Parley, its going offline) are in it, less what the processes spend anyway when idle (measured
// before each round); Redis is counted apart.
//   npm run churn -w @parley/bench              (CLIENTS=1000, ROUNDS=3)
import { fileURLToPath } from 'node:url';
import { benchSystems, startSystem, systemsFromEnv, type BenchSystem } from './fanout.js';
import { cpuSeconds } from './lib/proc-cpu.js';
import { commandStats, type CommandCost } from './redis-cost.js';
import { layeredRooms } from './lib/layered-rooms.js';
import { fmt, summarize } from './lib/stats.js';
import type { BenchClient, SystemUnderTest } from './lib/systems.js';

const ROOMS_PER_CLIENT = 3;
const ROOM_SIZE = 10;

export interface ChurnRound {
  system: SystemUnderTest['name'];
  clients: number;
  /** CPU µs per connection (connect + join + close): the nodes, Redis, and (Parley) the persister and Postgres. */
  nodesUs: number;
  redisUs: number;
  backUs: number;
  /** Redis commands the round caused, per connection. */
  commands: CommandCost[];
  /** Wall-clock ms to connect every client, 50 at a time. */
  connectMs: number;
}

/** CPU seconds per second each group of processes spends while nothing happens (timers, heartbeats, the persister's polls), over one 2 s window. */
async function idleRates(groups: number[][]): Promise<number[]> {
  const before = groups.map((pids) => cpuSeconds(pids));
  await new Promise((r) => setTimeout(r, 2000));
  return groups.map((pids, i) => (cpuSeconds(pids) - before[i]!) / 2);
}

/**
 * Waits until the processes use no more than their idle rate and 2% of a core over 250 ms (at most
 * 15 s): their reaction to the closes is over.
 */
async function idle(pids: number[], rate: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = cpuSeconds(pids);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpuSeconds(pids);
    if (now - last < (rate + 0.02) * 0.25) return;
    last = now;
  }
}

async function churnRound(system: SystemUnderTest, users: string[], rooms: string[], ofUser: number[][]): Promise<ChurnRound> {
  const pids = [...system.nodePids(), ...system.redisPids(), ...system.backPids()];
  // What the processes spend idle is not the connections' doing: measured first, subtracted after.
  const [nodesRate, redisRate, backRate] = (await idleRates([system.nodePids(), system.redisPids(), system.backPids()])) as [number, number, number];
  const rate = nodesRate + redisRate + backRate;
  await idle(pids, rate);
  await commandStats(system.redisPorts(), true);
  const nodes0 = cpuSeconds(system.nodePids());
  const redis0 = cpuSeconds(system.redisPids());
  const back0 = cpuSeconds(system.backPids());
  const start = performance.now();
  const clients: BenchClient[] = [];
  for (let i = 0; i < users.length; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(i + 50, users.length); j++)
      batch.push(
        system.connect(
          j % system.nodes,
          users[j]!,
          ofUser[j]!.map((r) => rooms[r]!),
          () => {},
        ),
      );
    clients.push(...(await Promise.all(batch)));
  }
  const connectMs = performance.now() - start;
  await Promise.all(clients.map((c) => c.disconnect()));
  await idle(pids, rate);
  const seconds = (performance.now() - start) / 1000;
  const per = (cpu: number, idleRate: number) => (Math.max(0, cpu - idleRate * seconds) * 1e6) / users.length;
  return {
    system: system.name,
    clients: users.length,
    nodesUs: per(cpuSeconds(system.nodePids()) - nodes0, nodesRate),
    redisUs: per(cpuSeconds(system.redisPids()) - redis0, redisRate),
    backUs: per(cpuSeconds(system.backPids()) - back0, backRate),
    commands: (await commandStats(system.redisPorts(), false)).map((c) => ({ ...c, calls: c.calls / users.length, usec: c.usec / users.length })),
    connectMs,
  };
}

export async function runChurn(n: number, rounds: number, names: BenchSystem[], log: (l: string) => void = () => {}): Promise<ChurnRound[]> {
  const systems: Array<{ system: SystemUnderTest; users: string[]; rooms: string[]; ofUser: number[][] }> = [];
  const rows: ChurnRound[] = [];
  try {
    for (const name of names) {
      const system = await startSystem(name);
      const tag = Math.random().toString(36).slice(2, 7);
      const users = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
      const { members, ofUser } = layeredRooms(users, ROOMS_PER_CLIENT, ROOM_SIZE);
      const rooms = await system.setupRooms(members);
      systems.push({ system, users, rooms, ofUser: users.map((u) => ofUser.get(u)!) });
    }
    // A warm-up round each, then interleaved rounds, the first system rotating.
    for (const s of systems) await churnRound(s.system, s.users, s.rooms, s.ofUser);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < systems.length; k++) {
        const s = systems[(r + k) % systems.length]!;
        const row = await churnRound(s.system, s.users, s.rooms, s.ofUser);
        rows.push(row);
        log(
          `round ${r + 1} ${row.system}: ${n} connections in ${fmt(row.connectMs, 0)} ms; CPU per connection: nodes ${fmt(row.nodesUs, 0)} µs, Redis ${fmt(row.redisUs, 0)} µs, persister + Postgres ${fmt(row.backUs, 0)} µs`,
        );
      }
    }
  } finally {
    for (const s of systems) await s.system.stop();
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.env.CLIENTS ?? 1000);
  const rounds = Number(process.env.ROUNDS ?? 3);
  const names = systemsFromEnv() ?? benchSystems.filter((s) => s === 'parley' || s === 'socketio');
  console.log(`churn: ${n} clients, each in ${ROOMS_PER_CLIENT} rooms of ${ROOM_SIZE}, connect + join + close, ${rounds} interleaved rounds`);
  const rows = await runChurn(n, rounds, names, (l) => console.log(l));
  console.log('\n| system | CPU µs per connection: nodes | Redis | persister + Postgres | connect ms for all |');
  console.log('|---|---|---|---|---|');
  for (const name of names) {
    const mine = rows.filter((r) => r.system === name);
    const med = (f: (r: ChurnRound) => number) => fmt(summarize(mine.map(f)).median, 0);
    console.log(`| ${name} | ${med((r) => r.nodesUs)} | ${med((r) => r.redisUs)} | ${med((r) => r.backUs)} | ${med((r) => r.connectMs)} |`);
  }
  for (const name of names) {
    const last = rows.filter((r) => r.system === name).at(-1)!;
    const shown = last.commands.filter((c) => c.calls >= 0.1);
    console.log(`\n${name}, Redis commands per connection (last round): ${shown.map((c) => `${c.command} ${fmt(c.calls, 1)}`).join(', ') || 'none'}`);
  }
  const parley = rows.filter((r) => r.system === 'parley');
  for (const other of names.filter((x) => x !== 'parley')) {
    const theirs = rows.filter((r) => r.system === other);
    const ratio = summarize(parley.map((p, i) => p.nodesUs / theirs[i]!.nodesUs));
    console.log(`Parley / ${other}, nodes' CPU per connection: ${fmt(ratio.median)} (${fmt(ratio.min)}–${fmt(ratio.max)})`);
  }
}
