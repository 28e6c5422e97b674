import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How often the event-loop monitor's timer is due: each firing is one sample. */
const LOOP_SAMPLE_MS = 10;

/**
 * The gateway's Prometheus series, served at GET /metrics. One registry per app, so that the
 * process metrics and ours come from one place and a test's second app does not share counters.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly connections = new Gauge({ name: 'parley_connections', help: 'Open WebSocket connections', registers: [this.registry] });
  readonly framesIn = new Counter({
    name: 'parley_frames_received_total',
    help: 'WebSocket frames received, by type (invalid: refused before routing)',
    labelNames: ['type'],
    registers: [this.registry],
  });
  /** Frames written since the last scrape, by type: a plain count on the fan-out path, added to the counter at scrape time. */
  private readonly unscrapedSent = new Map<string, number>();
  readonly framesOut = new Counter({
    name: 'parley_frames_sent_total',
    help: 'WebSocket frames written, by type',
    labelNames: ['type'],
    registers: [this.registry],
    collect: () => {
      for (const [type, n] of this.unscrapedSent) this.framesOut.labels(type).inc(n);
      this.unscrapedSent.clear();
    },
  });
  readonly appendSeconds = new Histogram({
    name: 'parley_append_duration_seconds',
    help: 'Time for one room append (the Redis script call that makes a message durable and publishes it)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly relayDelaySeconds = new Histogram({
    name: 'parley_relay_delay_seconds',
    help: "Cross-node fan-out: from an event's creation on its gateway to its arrival here over pub/sub",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly replicaWaitTimeouts = new Counter({
    name: 'parley_replica_wait_timeouts_total',
    help: 'Appends refused because not every online replica (at least REDIS_WAIT_REPLICAS) had them in REDIS_WAIT_TIMEOUT_MS',
    registers: [this.registry],
  });
  readonly relayProbeGaps = new Counter({
    name: 'parley_relay_probe_gaps_total',
    help: 'Rooms whose channel went silent past events, found by the relay probe and backfilled',
    registers: [this.registry],
  });
  readonly socketCloses = new Counter({
    name: 'parley_socket_closes_total',
    help: 'Sockets the gateway closed, by reason (SLOW_CONSUMER: past the send buffer cap)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly backendErrors = new Counter({
    name: 'parley_backend_errors_total',
    help: 'Redis connection errors and failed Postgres queries or connections',
    labelNames: ['backend'],
    registers: [this.registry],
  });
  readonly httpSeconds = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'REST requests, by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  /**
   * How late the event loop ran a timer due every LOOP_SAMPLE_MS, sampled by libuv
   * (perf_hooks.monitorEventLoopDelay: no JavaScript runs per sample; a JavaScript interval cost an
   * idle gateway three times its CPU) and moved into this histogram at each scrape. A cumulative
   * series, unlike prom-client's nodejs_eventloop_lag_p99_seconds, which each scrape resets, so that
   * any number of scrapers take quantiles over their own windows.
   */
  private readonly loopMonitor = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  readonly eventLoopDelaySeconds = new Histogram({
    name: 'parley_event_loop_delay_seconds',
    help: 'How late the event loop ran a timer due every 10 ms: one sample per firing',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
    collect: () => this.foldLoopDelay(),
  });

  /**
   * Observes the monitor's samples since the last fold, then resets it. The monitor keeps an HDR
   * histogram whose percentiles are (percent, ns) steps: each step's share of the samples is
   * observed at its value less the resolution (an idle loop's timer fires LOOP_SAMPLE_MS apart).
   * A reset monitor records nothing until its timer has fired once: the first LOOP_SAMPLE_MS after
   * each scrape go unsampled.
   */
  private foldLoopDelay(): void {
    const h = this.loopMonitor;
    let observed = 0;
    for (const [percent, ns] of h.percentiles) {
      const upTo = Math.round((h.count * percent) / 100);
      const delay = Math.max(0, ns / 1e9 - LOOP_SAMPLE_MS / 1000);
      for (; observed < upTo; observed++) this.eventLoopDelaySeconds.observe(delay);
    }
    h.reset();
  }

  /** One frame written to one socket (called for every socket an event fans out to). */
  frameSent(type: string): void {
    this.unscrapedSent.set(type, (this.unscrapedSent.get(type) ?? 0) + 1);
  }

  constructor(nodeId: string) {
    this.registry.setDefaultLabels({ node: nodeId });
    collectDefaultMetrics({ register: this.registry });
    this.loopMonitor.enable();
  }

  /** Stops the event-loop monitor's timer. */
  close(): void {
    this.loopMonitor.disable();
  }
}
