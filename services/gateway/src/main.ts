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

const app = await buildApp(config);
await app.listen({ host: config.host, port: config.port });
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
