import { loadConfig } from './config.js';
import { buildApp } from './app.js';

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
    app.log.info({ signal }, 'gateway stopping');
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
