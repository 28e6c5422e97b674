// Where each system's Redis CPU goes, per message sent: `INFO commandstats` over one fan-out round
// (reset after a warm-up), beside the Redis processes' own CPU (/proc), whose rest is the event loop,
// socket I/O, pub/sub delivery and the AOF.
//   npm run redis-cost -w @parley/bench                   1,000 messages/s in 100 rooms of 10
//   RATE=4000 SYSTEMS=parley,socketio npm run redis-cost -w @parley/bench
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { benchSystems, load, round, startSystem, systemsFromEnv, type Workload } from './fanout.js';
import { cpuSeconds } from './lib/proc-cpu.js';
import { fmt } from './lib/stats.js';

export interface CommandCost {
  command: string;
  calls: number;
  usec: number;
}

/** `INFO commandstats` as rows: `cmdstat_xadd:calls=3,usec=25,usec_per_call=8.33,...`. */
export function parseCommandStats(info: string): CommandCost[] {
  const rows: CommandCost[] = [];
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) rows.push({ command: m[1]!, calls: Number(m[2]), usec: Number(m[3]) });
  }
  return rows;
}

/** INFO commandstats summed over these servers, largest time first; `reset` zeroes them instead. */
export async function commandStats(ports: number[], reset: boolean): Promise<CommandCost[]> {
  const totals = new Map<string, CommandCost>();
  for (const port of ports) {
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
    await redis.connect();
    if (reset) await redis.config('RESETSTAT');
    else
      for (const row of parseCommandStats(await redis.info('commandstats'))) {
        const t = totals.get(row.command) ?? { command: row.command, calls: 0, usec: 0 };
        t.calls += row.calls;
        t.usec += row.usec;
        totals.set(row.command, t);
      }
    redis.disconnect();
  }
  return [...totals.values()].sort((a, b) => b.usec - a.usec);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rate = Number(process.env.RATE ?? 1000);
  const durationMs = Number(process.env.DURATION_MS ?? 5000);
  const workload: Workload = { name: '1,000 clients in 100 rooms of 10', clients: 1000, rooms: 100, rate };
  console.log(`redis-cost: ${workload.name}, ${rate} messages/s for ${durationMs} ms after a 2 s warm-up`);
  for (const name of systemsFromEnv() ?? benchSystems) {
    const system = await startSystem(name);
    try {
      const loaded = await load(system, workload);
      await round(loaded, workload, 2000);
      await commandStats(system.redisPorts(), true);
      const cpu0 = cpuSeconds(system.redisPids());
      const result = await round(loaded, workload, durationMs);
      const cpu = cpuSeconds(system.redisPids()) - cpu0;
      // The INFO call itself is in the figures: one per server, negligible beside thousands of messages.
      const stats = await commandStats(system.redisPorts(), false);
      const perMessage = (usec: number) => usec / result.sent;
      console.log(`\n### ${name}: ${result.sent} messages, ${result.delivered} deliveries\n`);
      console.log('| command | calls per message | µs per call | µs per message |');
      console.log('|---|---|---|---|');
      const total = stats.reduce((a, s) => a + s.usec, 0);
      for (const s of stats.filter((s) => s.calls >= result.sent / 100 || s.usec >= total / 200))
        console.log(`| ${s.command} | ${fmt(s.calls / result.sent)} | ${fmt(s.usec / s.calls)} | ${fmt(perMessage(s.usec))} |`);
      console.log(
        `\nRedis CPU per message: ${fmt((cpu * 1e6) / result.sent)} µs (/proc); per delivery ${fmt((cpu * 1e6) / Math.max(1, result.delivered))} µs.` +
          ` A script's time (fcall) includes the commands it calls, which are also counted on their own rows.`,
      );
      for (const l of loaded.clients) l.client.close();
    } finally {
      await system.stop();
    }
  }
}
