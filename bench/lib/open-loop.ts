import { now } from './latency.js';

/**
 * Sends at a fixed offered rate for `durationMs`, whatever the system's answers: each send carries
 * the time it was due, so a stalled system shows up as latency measured from that time (no
 * coordinated omission), not as a lower rate.
 */
export async function openLoop(ratePerSecond: number, durationMs: number, send: (index: number, dueAt: number) => void): Promise<number> {
  const start = now();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - start) * ratePerSecond) / 1000) + 1);
      while (sent < due) {
        send(sent, start + (sent * 1000) / ratePerSecond);
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  return sent;
}
