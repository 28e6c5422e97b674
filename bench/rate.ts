// Sustainable rate: step the offered rate up, every system interleaved at each step, until its p99
// passes 50 ms or anything goes undelivered; draws latency percentiles against offered rate as SVG.
//   npm run rate -w @parley/bench          (STEP_MS=3000; writes bench/results/latency-vs-rate-10.svg)
//   ROOM_SIZE=100 npm run rate -w @parley/bench          1,000 clients in 10 rooms of 100
//   SYSTEMS=parley,socketio-durable npm run rate -w @parley/bench
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { benchSystems, load, round, startSystem, systemsFromEnv, type BenchSystem, type RoundResult, type Workload } from './fanout.js';
import { lineChart } from './lib/svg-chart.js';
import { fmt } from './lib/stats.js';
import type { SystemUnderTest } from './lib/systems.js';

const P99_LIMIT_MS = 50;
/**
 * Offered deliveries per second at each step (messages per second: divided by the room size); at
 * most a quarter apart from 20,000 on, so that a ratio of two sustainable rates is resolved to
 * within about 0.2 rather than the 0.5 of doubling steps.
 */
const steps = [5_000, 10_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 60_000, 75_000, 90_000, 110_000, 135_000, 165_000, 200_000];

/** 1,000 clients in rooms of `size`. */
const workloadOf = (size: number): Workload => ({ name: `1,000 clients in ${1000 / size} rooms of ${size}`, clients: 1000, rooms: 1000 / size, rate: 0 });

export async function runRate(stepMs: number, workload: Workload, names: BenchSystem[] = benchSystems, log: (l: string) => void = () => {}) {
  const size = workload.clients / workload.rooms;
  const systems: SystemUnderTest[] = [];
  for (const name of names) systems.push(await startSystem(name));
  const rows = new Map<string, Array<{ offered: number; result: RoundResult }>>();
  const best = new Map<string, number>();
  try {
    const loaded = [];
    for (const s of systems) loaded.push(await load(s, workload));
    // A warm-up round each at the first step, not counted: the first sends fill caches and JIT.
    for (const l of loaded) await round(l, { ...workload, rate: steps[0]! / size }, stepMs);
    const alive = new Set(systems.map((s) => s.name));
    for (const offered of steps) {
      if (alive.size === 0) break;
      for (const l of loaded) {
        if (!alive.has(l.system.name)) continue;
        const result = await round(l, { ...workload, rate: offered / size }, stepMs);
        rows.set(l.system.name, [...(rows.get(l.system.name) ?? []), { offered, result }]);
        const ok = result.delivered === result.expected && result.latency.p99 <= P99_LIMIT_MS;
        log(
          `${l.system.name} at ${offered} deliveries/s: ${result.delivered}/${result.expected}, p50 ${fmt(result.latency.p50)} ms, p99 ${fmt(result.latency.p99)} ms ${ok ? '' : '(over the limit)'}`,
        );
        if (ok) best.set(l.system.name, offered);
        else alive.delete(l.system.name);
      }
    }
    for (const l of loaded) for (const c of l.clients) c.client.close();
  } finally {
    for (const s of systems) await s.stop();
  }
  return { rows, best };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stepMs = Number(process.env.STEP_MS ?? 3000);
  const size = Number(process.env.ROOM_SIZE ?? 10);
  const workload = workloadOf(size);
  console.log(`rate: ${workload.name}, steps of ${stepMs} ms, limit p99 ${P99_LIMIT_MS} ms and nothing lost`);
  const { rows, best } = await runRate(stepMs, workload, systemsFromEnv(), (l) => console.log(l));
  const colors: Record<BenchSystem, string> = { parley: '#1f77b4', socketio: '#d62728', 'socketio-durable': '#9467bd', floor: '#7f7f7f' };
  const series = [...rows].flatMap(([name, points]) => [
    { name: `${name} p50`, color: colors[name as BenchSystem], dashed: true, points: points.map((p) => [p.offered, p.result.latency.p50] as [number, number]) },
    { name: `${name} p99`, color: colors[name as BenchSystem], points: points.map((p) => [p.offered, p.result.latency.p99] as [number, number]) },
  ]);
  const file = fileURLToPath(new URL(`results/latency-vs-rate-${size}.svg`, import.meta.url));
  writeFileSync(
    file,
    lineChart(`Fan-out latency against offered rate (${workload.name}, 3 nodes)`, 'offered deliveries per second', 'latency (log scale)', series),
  );
  console.log(`chart: ${file}`);
  const parley = best.get('parley') ?? 0;
  console.log(`sustainable rate: ${[...rows.keys()].map((name) => `${name} ${best.get(name) ?? 0}`).join(', ')} deliveries/s`);
  for (const name of rows.keys())
    if (name !== 'parley' && rows.has('parley')) console.log(`parley / ${name}: ${fmt(parley / Math.max(1, best.get(name) ?? 0))}`);
}
