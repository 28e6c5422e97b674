import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { persisterLag, type Keys, type PersisterLag, type RedisClient } from '@parley/redis';

/**
 * The persister's Prometheus series. The lag gauges are read from Redis at each scrape (XLEN and
 * XPENDING's summary), so they are right however many persisters run: each reports the group's.
 */
export class PersisterMetrics {
  readonly registry = new Registry();
  readonly batchSize = new Histogram({
    name: 'parley_persister_batch_size',
    help: 'Stream entries written to Postgres per transaction',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [this.registry],
  });
  readonly batchSeconds = new Histogram({
    name: 'parley_persister_batch_duration_seconds',
    help: 'Time to write one batch to Postgres and ack it',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly entries = new Counter({ name: 'parley_persister_entries_total', help: 'Stream entries persisted and acked', registers: [this.registry] });
  readonly failures = new Counter({ name: 'parley_persister_failures_total', help: 'Batches that failed and were retried', registers: [this.registry] });
  readonly replicaWaitTimeouts = new Counter({
    name: 'parley_persister_replica_wait_timeouts_total',
    help: 'Reads not persisted because not every online replica (at least REDIS_WAIT_REPLICAS) had them in REDIS_WAIT_TIMEOUT_MS',
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'parley_persister_dead_letters_total',
    help: 'Stream entries Postgres refused, set aside in the dead-letter stream',
    registers: [this.registry],
  });
  readonly backendErrors = new Counter({
    name: 'parley_backend_errors_total',
    help: 'Redis connection errors and failed Postgres queries or connections',
    labelNames: ['backend'],
    registers: [this.registry],
  });

  constructor(consumer: string, redis: RedisClient, keys: Keys) {
    this.registry.setDefaultLabels({ consumer });
    collectDefaultMetrics({ register: this.registry });
    // The three gauges are read together, once per scrape: each one's collect shares the read in flight.
    let read: Promise<PersisterLag | undefined> | undefined;
    const lag = () =>
      (read ??= persisterLag(redis, keys)
        // Redis unreachable: the last values stay, the error counter moves.
        .catch(() => undefined)
        .finally(() => setImmediate(() => (read = undefined))));
    const gauge = (name: string, help: string, pick: (l: PersisterLag) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const l = await lag();
          if (l) this.set(pick(l));
        },
      });
    gauge('parley_persister_stream_length', 'Entries in the event stream not yet persisted (persisted ones are deleted)', (l) => l.streamLength);
    gauge('parley_persister_pending', "Entries read by a persister and not yet acked (the group's pending list)", (l) => l.pending);
    gauge('parley_persister_oldest_pending_age_seconds', 'Age of the oldest entry in the pending list (0 when empty)', (l) => l.oldestPendingAgeSeconds);
  }

  /** Serves GET /metrics; resolves with the port (0 picks a free one). */
  listen(host: string, port: number): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const address = server.address();
        resolve({ server, port: typeof address === 'object' && address ? address.port : port });
      });
    });
  }
}
