import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of one process, in bytes (from /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/**
 * CPU time (clock ticks) a process and all its descendants have used, those that exited included:
 * how a waiting harness tells a busy process (a build, a slow start on a loaded machine) from a stuck
 * one. 0 once the process is gone.
 */
export function treeCpuTicks(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After "pid (comm) ": state, ppid, … utime is field 14, stime 15, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    stats.set(Number(entry), { ppid: Number(fields[1]), ticks: [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) });
  }
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    total += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) pending.push(child);
  }
  return total;
}
