import { loadConfig } from './config.js';
import { buildApp } from './app.js';
import { drain } from './drain.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(`gateway: bad configuration: ${(err as Error).message}`);
  process.exit(2);
}

// What stops the start (Redis or Postgres unreachable, REDIS_URL naming a cluster node, the port
// taken) is said in one line, not as a stack trace.
const app = await buildApp(config).catch(cannotStart);
await app.listen({ host: config.host, port: config.port }).catch(cannotStart);
const address = app.server.address();
app.log.info({ port: typeof address === 'object' && address ? address.port : config.port }, 'gateway listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'gateway draining');
    setTimeout(() => {
      app.log.error('drain timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    drain(app, config.shutdownTimeoutMs).then(
      () => {
        app.log.info('gateway stopped');
        process.exit(0);
      },
      (err: Error) => {
        app.log.error({ err: err.message }, 'drain failed');
        process.exit(1);
      },
    );
  });
}

function cannotStart(err: Error): never {
  console.error(`gateway: cannot start: ${err.message}`);
  process.exit(1);
}
