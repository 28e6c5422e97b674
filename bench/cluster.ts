// Parley on a Redis Cluster (3 masters, a replica each) against Parley on one Redis server, at the
// same offered load, in interleaved rounds of one run:
//   npm run cluster -w @parley/bench
//   ROUNDS=3 DURATION_MS=5000 RATE=600 npm run cluster -w @parley/bench
// 1. shards: each master's CPU against the one server's, and the Redis commands per message sent;
// 2. relay: with each room's members on one gateway, the room events each gateway receives over
//    pub/sub against the messages of the rooms it serves and against all messages;
// 3. gateways: the same load served by 1, 2 and 3 gateways of the cluster.
import { fileURLToPath } from 'node:url';
import { scrape, type Stack } from '@parley/testkit';
import { load, round, spread, type Loaded, type Placement, type RoundResult, type Workload } from './fanout.js';
import { cpuSeconds } from './lib/proc-cpu.js';
import { fmt, summarize } from './lib/stats.js';
import { startParley, type SystemUnderTest } from './lib/systems.js';

export interface ClusterBenchOptions {
  rounds: number;
  durationMs: number;
  /** Messages per second offered, over all senders. */
  rate: number;
  clients: number;
  rooms: number;
  log?: (line: string) => void;
}

interface ShardRound {
  system: string;
  result: RoundResult;
  /** CPU seconds of each master in the round (one entry for the one server). */
  masterCpu: number[];
  /** The replicas', summed (none for the one server). */
  replicaCpu: number;
  /** Redis commands per message sent, by command, summed over the masters. */
  commandsPerMessage: Map<string, number>;
}

interface RelayRound {
  /** Per gateway: room events received over pub/sub, messages of the rooms it serves, all messages sent. */
  gateways: Array<{ received: number; served: number; total: number }>;
  /** Sharded-publish messages the cluster bus carried, per message sent. */
  busPerMessage: number;
}

interface GatewaysRound {
  gateways: number;
  result: RoundResult;
}

export interface ClusterBenchResults {
  workload: Workload;
  shards: ShardRound[];
  relay: RelayRound[];
  gateways: GatewaysRound[];
}

/** Commands per second with no load (claims, probes, slot refreshes, health checks): not a send's. */
async function idleCommandRate(stack: Stack, ms: number): Promise<Map<string, number>> {
  const calls0 = await stack.commandCalls();
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const calls1 = await stack.commandCalls();
  const seconds = (Date.now() - start) / 1000;
  return new Map([...calls1].map(([command, n]) => [command, (n - (calls0.get(command) ?? 0)) / seconds]));
}

async function masterPids(stack: Stack): Promise<{ masters: number[]; replicas: number[] }> {
  if (!stack.redis.isCluster) return { masters: [stack.redisServer.child.pid], replicas: [] };
  const masters: number[] = [];
  const replicas: number[] = [];
  for (const node of stack.redisCluster.nodes) {
    const role = (await stack.redisCluster.cli(node.port, 'ROLE')).split('\n')[0];
    (role === 'master' ? masters : replicas).push(node.child.pid);
  }
  return { masters, replicas };
}

async function shardRound(l: Loaded, workload: Workload, durationMs: number, idle: Map<string, number>): Promise<ShardRound> {
  const stack = l.system.stack!;
  const { masters, replicas } = await masterPids(stack);
  const cpu0 = masters.map((pid) => cpuSeconds([pid]));
  const replicas0 = cpuSeconds(replicas);
  const calls0 = await stack.commandCalls();
  const start = Date.now();
  const result = await round(l, workload, durationMs);
  const calls1 = await stack.commandCalls();
  const seconds = (Date.now() - start) / 1000;
  const commandsPerMessage = new Map<string, number>();
  for (const [command, n] of calls1) {
    // What ran beyond the idle rate, per message sent (commands a script runs count too).
    const perMessage = (n - (calls0.get(command) ?? 0) - (idle.get(command) ?? 0) * seconds) / result.sent;
    if (perMessage >= 0.005) commandsPerMessage.set(command, perMessage);
  }
  return {
    system: l.system.name,
    result,
    masterCpu: masters.map((pid, i) => cpuSeconds([pid]) - cpu0[i]!),
    replicaCpu: cpuSeconds(replicas) - replicas0,
    commandsPerMessage,
  };
}

/** Room events each gateway took from pub/sub, and message frames it wrote (deliveries to its sockets). */
async function relayCounts(stack: Stack): Promise<Array<{ received: number; delivered: number }>> {
  return Promise.all(
    stack.gateways.map(async (g) => {
      const s = await scrape(`${g.url}/metrics`);
      return { received: s.value('parley_relay_delay_seconds_count') ?? 0, delivered: s.value('parley_frames_sent_total', { type: 'message' }) ?? 0 };
    }),
  );
}

async function busPublishes(stack: Stack): Promise<number> {
  const counts = await Promise.all(
    stack.redisCluster.nodes.map(async (n) =>
      Number(/cluster_stats_messages_publishshard_sent:(\d+)/.exec(await stack.redisCluster.cli(n.port, 'CLUSTER', 'INFO'))?.[1] ?? 0),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function relayRound(l: Loaded, workload: Workload, durationMs: number): Promise<RelayRound> {
  const stack = l.system.stack!;
  const size = workload.clients / workload.rooms;
  const [before, bus0] = [await relayCounts(stack), await busPublishes(stack)];
  const result = await round(l, workload, durationMs);
  const [after, bus1] = [await relayCounts(stack), await busPublishes(stack)];
  return {
    gateways: after.map((a, i) => ({ received: a.received - before[i]!.received, served: (a.delivered - before[i]!.delivered) / size, total: result.sent })),
    busPerMessage: (bus1 - bus0) / result.sent,
  };
}

/** Rounds of `run` over `loads`, interleaved and rotated so that none always follows the same one. */
async function interleaved<T>(loads: Loaded[], rounds: number, run: (l: Loaded, index: number) => Promise<T>): Promise<T[]> {
  const rows: T[] = [];
  for (let r = 0; r < rounds; r++) for (let k = 0; k < loads.length; k++) rows.push(await run(loads[(r + k) % loads.length]!, (r + k) % loads.length));
  return rows;
}

function close(loads: Loaded[]): void {
  for (const l of loads) for (const c of l.clients) c.client.close();
}

export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResults> {
  const log = options.log ?? (() => {});
  const workload: Workload = {
    name: `${options.clients} clients in ${options.rooms} rooms of ${options.clients / options.rooms}`,
    clients: options.clients,
    rooms: options.rooms,
    rate: options.rate,
  };
  const warmup = Math.min(2000, options.durationMs);
  const systems: SystemUnderTest[] = [await startParley(3, 'standalone'), await startParley(3, 'cluster')];
  const [single, cluster] = systems as [SystemUnderTest, SystemUnderTest];
  try {
    // 1. One server against three shards, clients spread over the 3 gateways.
    const spreadLoads = [await load(single, workload), await load(cluster, workload)];
    for (const l of spreadLoads) await round(l, workload, warmup);
    const idle = new Map(await Promise.all(systems.map(async (s) => [s, await idleCommandRate(s.stack!, options.durationMs)] as const)));
    const shards = await interleaved(spreadLoads, options.rounds, async (l) => {
      const row = await shardRound(l, workload, options.durationMs, idle.get(l.system)!);
      log(`shards ${row.system}: ${row.result.delivered}/${row.result.expected} delivered; masters' CPU ${row.masterCpu.map((c) => fmt(c)).join(', ')} s`);
      return row;
    });
    close(spreadLoads);

    // 2. Each room's members on one gateway (room r on gateway r mod 3).
    const byRoom: Placement = (_client, room, nodes) => room % nodes;
    const roomLoad = await load(cluster, workload, byRoom);
    await round(roomLoad, workload, warmup);
    const relay = await interleaved([roomLoad], options.rounds, async (l) => {
      const row = await relayRound(l, workload, options.durationMs);
      log(
        `relay: received ${row.gateways.map((g) => g.received).join(', ')}; served ${row.gateways.map((g) => g.served).join(', ')}; of ${row.gateways[0]!.total}`,
      );
      return row;
    });
    close([roomLoad]);

    // 3. The same load on 1, 2 and 3 of the cluster's gateways.
    const onFirst =
      (k: number): Placement =>
      (client) =>
        spread(client, 0, k);
    const gatewayLoads = [await load(cluster, workload, onFirst(1)), await load(cluster, workload, onFirst(2)), await load(cluster, workload, onFirst(3))];
    for (const l of gatewayLoads) await round(l, workload, warmup);
    const gateways = await interleaved(gatewayLoads, options.rounds, async (l, i) => {
      const row = { gateways: i + 1, result: await round(l, workload, options.durationMs) };
      log(`${row.gateways} gateway(s): ${row.result.delivered}/${row.result.expected} delivered, p99 ${fmt(row.result.latency.p99)} ms`);
      return row;
    });
    close(gatewayLoads);
    return { workload, shards, relay, gateways };
  } finally {
    for (const s of systems) await s.stop();
  }
}

export function clusterReport(results: ClusterBenchResults): string {
  const lines: string[] = [];
  const show = (values: number[], digits = 2) => {
    const s = summarize(values);
    return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
  };
  const single = results.shards.filter((r) => r.system === 'parley');
  const cluster = results.shards.filter((r) => r.system === 'parley-cluster');
  const delivered = (rows: Array<{ result: RoundResult }>) =>
    `${rows.reduce((a, r) => a + r.result.delivered, 0)}/${rows.reduce((a, r) => a + r.result.expected, 0)}`;
  lines.push(`\n### One Redis against 3 shards: ${results.workload.name}, ${results.workload.rate} messages/s\n`);
  lines.push('| Redis | delivered/expected | p50 ms | p99 ms | CPU s per master (each) | replicas | Redis commands per message (beyond the idle rate) |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const rows of [single, cluster]) {
    const perMaster = rows[0]!.masterCpu.map((_, m) => fmt(summarize(rows.map((r) => r.masterCpu[m]!)).median, 3)).join(', ');
    const commands = summarize(rows.map((r) => [...r.commandsPerMessage.values()].reduce((a, b) => a + b, 0))).median;
    lines.push(
      `| ${rows === single ? 'one server' : '3 masters + 3 replicas'} | ${delivered(rows)} | ${fmt(summarize(rows.map((r) => r.result.latency.p50)).median)} | ${fmt(summarize(rows.map((r) => r.result.latency.p99)).median)} | ${perMaster} | ${rows === single ? '—' : fmt(summarize(rows.map((r) => r.replicaCpu)).median, 3)} | ${fmt(commands)} |`,
    );
  }
  const pairs = single.map((s, i) => [s, cluster[i]!] as const);
  lines.push('');
  lines.push(
    `Per round, cluster / one server: busiest master's CPU ${show(pairs.map(([s, c]) => Math.max(...c.masterCpu) / s.masterCpu[0]!))}; ` +
      `quietest master's ${show(pairs.map(([s, c]) => Math.min(...c.masterCpu) / s.masterCpu[0]!))}; ` +
      `all masters together ${show(pairs.map(([s, c]) => c.masterCpu.reduce((a, b) => a + b, 0) / s.masterCpu[0]!))}; ` +
      `Redis commands per message ${show(pairs.map(([s, c]) => [...c.commandsPerMessage.values()].reduce((a, b) => a + b, 0) / [...s.commandsPerMessage.values()].reduce((a, b) => a + b, 0)))}.`,
  );
  const byCommand = (rows: ShardRound[]) => {
    const names = [...new Set(rows.flatMap((r) => [...r.commandsPerMessage.keys()]))].sort();
    return names.map((n) => `${n} ${fmt(summarize(rows.map((r) => r.commandsPerMessage.get(n) ?? 0)).median)}`).join(', ');
  };
  lines.push(`Commands per message, one server: ${byCommand(single)}. Cluster: ${byCommand(cluster)}.`);

  lines.push(`\n### Sharded relay: each room's members on one gateway (3 gateways)\n`);
  lines.push('| gateway | room events received over pub/sub | messages of the rooms it serves | all messages (what each node carries with classic PUBLISH) |');
  lines.push('|---|---|---|---|');
  results.relay[0]!.gateways.forEach((_, g) => {
    const med = (f: (x: RelayRound['gateways'][number]) => number) => fmt(summarize(results.relay.map((r) => f(r.gateways[g]!))).median, 0);
    lines.push(`| ${g + 1} | ${med((x) => x.received)} | ${med((x) => x.served)} | ${med((x) => x.total)} |`);
  });
  lines.push('');
  lines.push(
    `Per round, received / served: ${show(results.relay.flatMap((r) => r.gateways.map((g) => g.received / g.served)))}; received / all messages: ${show(results.relay.flatMap((r) => r.gateways.map((g) => g.received / g.total)))}. ` +
      `Cluster-bus messages per message sent (sharded publish reaches the shard's replica only; classic PUBLISH would reach the other 5 nodes): ${show(results.relay.map((r) => r.busPerMessage))}.`,
  );

  lines.push(`\n### Fan-out on 1, 2 and 3 gateways of the cluster\n`);
  lines.push('| gateways | delivered/expected | deliveries/s | p50 ms | p99 ms | CPU s/1k deliveries: gateways | Redis |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const k of [1, 2, 3]) {
    const rows = results.gateways.filter((r) => r.gateways === k);
    const med = (f: (r: RoundResult) => number, digits = 2) => fmt(summarize(rows.map((r) => f(r.result))).median, digits);
    lines.push(
      `| ${k} | ${delivered(rows)} | ${med((r) => r.deliveriesPerSecond, 0)} | ${med((r) => r.latency.p50)} | ${med((r) => r.latency.p99)} | ${med((r) => r.nodesCpuPer1k, 3)} | ${med((r) => r.redisCpuPer1k, 3)} |`,
    );
  }
  const one = results.gateways.filter((r) => r.gateways === 1);
  const three = results.gateways.filter((r) => r.gateways === 3);
  lines.push('');
  lines.push(
    `Per round, 3 gateways / 1: gateways' CPU per delivery ${show(three.map((r, i) => r.result.nodesCpuPer1k / one[i]!.result.nodesCpuPer1k))}; p99 ${show(three.map((r, i) => r.result.latency.p99 / one[i]!.result.latency.p99))}.`,
  );
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options: ClusterBenchOptions = {
    rounds: Number(process.env.ROUNDS ?? 3),
    durationMs: Number(process.env.DURATION_MS ?? 5000),
    rate: Number(process.env.RATE ?? 600),
    clients: 1200,
    rooms: 120,
    log: (l) => console.log(l),
  };
  console.log(`cluster: ${options.rounds} interleaved rounds of ${options.durationMs} ms, ${options.rate} messages/s`);
  console.log(clusterReport(await runClusterBench(options)));
}
