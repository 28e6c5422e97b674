// Soak: Parley (3 gateways, a persister) at half its sustainable rate for SOAK_MINUTES, sampled every
// window: gateway and persister RSS, the event stream's length and the persisters' pending list,
// deliveries and p99. Ends with the RSS slope (least squares over the windows after the first fifth)
// and whether each figure stayed bounded; exits 1 if one did not.
//   npm run soak -w @parley/bench            (SOAK_MINUTES=30 WINDOW_S=30 RATE=500)
import { fileURLToPath } from 'node:url';
import { rssBytes } from '@parley/testkit';
import { load, round, type Workload } from './fanout.js';
import { fmt } from './lib/stats.js';
import { startParley } from './lib/systems.js';

/** Half the sustainable rate of `npm run rate` (10,000 deliveries/s in rooms of 10: bench/README.md). */
const RATE = Number(process.env.RATE ?? 500);
const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const WINDOW_S = Number(process.env.WINDOW_S ?? 30);
/** Bounded: RSS grows less than this per hour per process, and the backlog stays under a few seconds of traffic. */
const RSS_SLOPE_LIMIT_MB_PER_HOUR = 20;
const BACKLOG_LIMIT = RATE * 5;

const rssMb = (pid: number) => rssBytes(pid) / 2 ** 20;

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

interface Sample {
  hours: number;
  gatewayRss: number[];
  persisterRss: number;
  stream: number;
  pending: number;
  delivered: number;
  expected: number;
  p99: number;
}

async function soak(): Promise<boolean> {
  const workload: Workload = { name: '1,000 clients in 100 rooms of 10', clients: 1000, rooms: 100, rate: RATE };
  const system = await startParley(3);
  const samples: Sample[] = [];
  try {
    const loaded = await load(system, workload);
    const [persisterPid] = system.backPids();
    const started = Date.now();
    console.log(`soak: ${workload.name}, ${RATE} messages/s (${RATE * 10} deliveries/s) for ${MINUTES} min, windows of ${WINDOW_S} s`);
    console.log('min   gateways RSS MB      persister MB  stream  pending  delivered/expected  p99 ms');
    while (Date.now() - started < MINUTES * 60_000) {
      const r = await round(loaded, workload, WINDOW_S * 1000);
      const { stream, pending } = await system.backlog!();
      const s: Sample = {
        hours: (Date.now() - started) / 3_600_000,
        gatewayRss: system.nodePids().map(rssMb),
        persisterRss: rssMb(persisterPid!),
        stream,
        pending,
        delivered: r.delivered,
        expected: r.expected,
        p99: r.latency.p99,
      };
      samples.push(s);
      console.log(
        `${fmt(s.hours * 60, 1).padStart(5)} ${s.gatewayRss
          .map((m) => fmt(m, 1))
          .join(' / ')
          .padEnd(
            20,
          )} ${fmt(s.persisterRss, 1).padStart(8)} ${String(stream).padStart(9)} ${String(pending).padStart(8)}  ${`${r.delivered}/${r.expected}`.padStart(18)} ${fmt(s.p99, 1).padStart(7)}`,
      );
    }
    for (const c of loaded.clients) c.client.close();
  } finally {
    await system.stop();
  }

  const steady = samples.slice(Math.floor(samples.length / 5));
  const slopes = [
    ...steady[0]!.gatewayRss.map((_, i) => ({ name: `gateway ${i + 1}`, mbPerHour: slope(steady.map((s) => [s.hours, s.gatewayRss[i]!])) })),
    { name: 'persister', mbPerHour: slope(steady.map((s) => [s.hours, s.persisterRss])) },
  ];
  const maxStream = Math.max(...samples.map((s) => s.stream));
  const maxPending = Math.max(...samples.map((s) => s.pending));
  const lost = samples.reduce((n, s) => n + s.expected - s.delivered, 0);
  const checks = [
    ...slopes.map((s) => ({
      ok: s.mbPerHour < RSS_SLOPE_LIMIT_MB_PER_HOUR,
      line: `${s.name} RSS slope ${fmt(s.mbPerHour, 1)} MB/h (limit ${RSS_SLOPE_LIMIT_MB_PER_HOUR})`,
    })),
    { ok: maxStream < BACKLOG_LIMIT, line: `stream length at most ${maxStream} (limit ${BACKLOG_LIMIT}, 5 s of traffic)` },
    { ok: maxPending < BACKLOG_LIMIT, line: `pending at most ${maxPending} (limit ${BACKLOG_LIMIT})` },
    { ok: lost === 0, line: `undelivered ${lost} of ${samples.reduce((n, s) => n + s.expected, 0)}` },
  ];
  for (const c of checks) console.log(`${c.ok ? 'bounded' : 'NOT BOUNDED'}: ${c.line}`);
  return checks.every((c) => c.ok);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = (await soak()) ? 0 : 1;
}
