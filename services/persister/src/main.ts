import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createDb } from '@parley/db';
import { createKeys, createScripts } from '@parley/redis';
import { loadConfig } from './config.js';
import { Persister } from './persister.js';
import { Notifier } from './notifier.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`persister: bad configuration: ${(err as Error).message}`);
  process.exit(2);
}

const log = pino({ level: config.logLevel, base: { consumer: config.consumer } });
const redisOptions = { maxRetriesPerRequest: null, connectTimeout: 5000 } as const;
const reader = new Redis(config.redisUrl, { ...redisOptions, connectionName: `persister-reader:${config.consumer}` });
const redis = new Redis(config.redisUrl, { ...redisOptions, connectionName: `persister:${config.consumer}` });
for (const conn of [reader, redis]) conn.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
const db = createDb({ url: config.databaseUrl, poolSize: 2, onIdleError: (err) => log.warn({ err: err.message }, 'postgres connection lost') });
const keys = createKeys(config.redisKeyPrefix);
const notifier = config.webhook ? new Notifier(config.webhook, redis, db, keys, log) : undefined;
const persister = new Persister(config, reader, redis, db, keys, createScripts(redis, keys), log, notifier);

await persister.start();
log.info('persister ready');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    log.info({ signal }, 'persister stopping after the batch in hand');
    persister
      .stop()
      .then(() => notifier?.stop())
      .then(async () => {
        reader.disconnect();
        await redis.quit();
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
