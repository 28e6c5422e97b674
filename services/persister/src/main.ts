import { pino } from 'pino';
import { createDb } from '@parley/db';
import { claimPartitions, closeRedis, connectRedis, createKeys, createScripts } from '@parley/redis';
import { loadConfig } from './config.js';
import type { AfterCommit } from './after-commit.js';
import { BatchWriter } from './batch-writer.js';
import { PersisterMetrics } from './metrics.js';
import { Notifier } from './offline-webhook.js';
import { Persister } from './persister.js';
import { SearchIndexer } from './search-indexer.js';
import { StreamReader } from './stream-reader.js';
import { Watermarks } from './watermarks.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`persister: bad configuration: ${(err as Error).message}`);
  process.exit(2);
}

const log = pino({ level: config.logLevel, base: { consumer: config.consumer } });
const redisOptions = { maxRetriesPerRequest: null, connectTimeout: 5000 } as const;
const reader = connectRedis(config.redis, `persister-reader:${config.consumer}`, redisOptions);
const redis = connectRedis(config.redis, `persister:${config.consumer}`, redisOptions);
const keys = createKeys({ prefix: config.redisKeyPrefix, partitions: config.redisPartitions });
// Its own connection, failing fast while Redis is down: a scrape must answer, not queue.
const metricsRedis = connectRedis(config.redis, `persister-metrics:${config.consumer}`, {
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  connectTimeout: 2000,
});
const metrics = new PersisterMetrics(config.consumer, metricsRedis, keys);
for (const conn of [reader, redis, metricsRedis]) {
  conn.on('error', (err: Error) => {
    metrics.backendErrors.labels('redis').inc();
    log.warn({ err: err.message }, 'redis connection error');
  });
}
const db = createDb({
  url: config.databaseUrl,
  poolSize: 2,
  onIdleError: (err) => {
    metrics.backendErrors.labels('postgres').inc();
    log.warn({ err: err.message }, 'postgres connection lost');
  },
  onQueryError: () => metrics.backendErrors.labels('postgres').inc(),
});
const followers: AfterCommit[] = [];
if (config.search) followers.push(new SearchIndexer(db, config.search));
if (config.webhook) followers.push(new Notifier(config.webhook, redis, db, keys, log));
const scripts = createScripts(redis, keys);
const streams = new StreamReader(config, reader, redis, scripts, keys, metrics, log);
const watermarks = new Watermarks(config, redis, db, keys, scripts, followers, log);
const writer = new BatchWriter(db, streams, watermarks, followers, metrics, log);
const persister = new Persister({ config, streams, writer, watermarks, followers, metrics, log });

const metricsServer = config.metrics ? await metrics.listen(config.metrics.host, config.metrics.port) : undefined;
if (metricsServer) log.info({ port: metricsServer.port }, 'metrics listening');
// What stops the start (Redis unreachable, REDIS_URL naming a cluster node) is said in one line.
await claimPartitions(redis, keys)
  .then(() => persister.start())
  .catch((err: Error) => {
    console.error(`persister: cannot start: ${err.message}`);
    process.exit(1);
  });
log.info('persister ready');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'persister stopping after the batch in hand');
    // A Redis or Postgres that answers nothing holds the stop: exit anyway. What was read and not
    // acked stays pending, for another persister to claim.
    setTimeout(() => {
      log.error('stop timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    persister
      .stop()
      .then(async () => {
        metricsServer?.server.close();
        await Promise.all([closeRedis(reader), closeRedis(metricsRedis), closeRedis(redis, { drain: true })]);
        await db.destroy();
        log.info('persister stopped');
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err: (err as Error).message }, 'unclean stop');
        process.exit(1);
      });
  });
}
