import { scrape, type Scrape } from '@parley/testkit';

const SERIES = 'parley_event_loop_delay_seconds_bucket';

/** Each gateway's event-loop delay histogram (`parley_event_loop_delay_seconds`) as cumulative (le, count) pairs. */
export async function loopDelayBuckets(urls: string[]): Promise<Array<Array<[number, number]>>> {
  return Promise.all(urls.map(async (url) => buckets(await scrape(`${url}/metrics`))));
}

function buckets(s: Scrape): Array<[number, number]> {
  const les = [...s.text.matchAll(new RegExp(`^${SERIES}\\{[^}]*le="([^"]+)"`, 'gm'))].map((m) => m[1]!);
  return les.map((le) => [le === '+Inf' ? Infinity : Number(le), s.value(SERIES, { le })!]);
}

/**
 * The q-quantile in ms of the samples taken between two readings of one gateway's histogram,
 * interpolated within its bucket as Prometheus' histogram_quantile does (the last finite bound when
 * it falls in +Inf).
 */
export function loopDelayQuantileMs(before: Array<[number, number]>, after: Array<[number, number]>, q: number): number {
  const delta = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as const);
  const total = delta[delta.length - 1]?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, n] of delta) {
    if (n >= rank) return (le === Infinity ? lower : lower + ((le - lower) * (rank - below)) / Math.max(1, n - below)) * 1000;
    lower = le;
    below = n;
  }
  return lower * 1000;
}
