import * as hdr from 'hdr-histogram-js';

/** Latencies in microseconds, recorded into an HDR histogram (1 µs to 60 s, 3 significant digits). */
export function latencyHistogram() {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

export type Histogram = ReturnType<typeof latencyHistogram>;

export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** p50, p99, p99.9 and max, in milliseconds. */
export function percentiles(h: Histogram): Percentiles {
  const ms = (q: number) => h.getValueAtPercentile(q) / 1000;
  return { p50: ms(50), p99: ms(99), p999: ms(99.9), max: h.maxValue / 1000 };
}

/** A clock in milliseconds, with sub-millisecond resolution, shared by senders and receivers of one process. */
export const now = () => performance.timeOrigin + performance.now();
