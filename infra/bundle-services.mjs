// Bundles each service's compiled entry point (tsc's dist/main.js) with what it imports into one
// file, dist/bundle/main.js, which is what runs: cluster.sh, docker-compose, the Dockerfile and the
// testkit start it. Loading ~900 modules one by one was most of a gateway's start (1.6 s of CPU on
// this machine, 1.1 s bundled); tests and benchmarks start a process per gateway and persister.
//
// Everything the services import is in the bundle, once: a package loaded both from the bundle and
// from node_modules would have two copies of its classes, and `instanceof` fails across them (a
// ParleyError thrown by @parley/redis lost its code that way). Left out, loaded from node_modules:
// - @fastify/swagger and @fastify/swagger-ui, which read and serve files of their own package
//   directories (pino's __dirname is only for transports, which Parley does not use);
// - optional native add-ons their packages try to load.
// Files the code finds beside its own module are found beside the bundle: it sits one directory
// below dist/, so the chat page's ../web/ is dist/web/ as from dist/routes/, and @parley/redis' Lua
// scripts (../scripts/ from its dist/) are copied to the service's dist/scripts/.
import { build } from 'esbuild';
import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await Promise.all(
  ['gateway', 'persister'].map(async (service) => {
    const dist = `${root}services/${service}/dist`;
    cpSync(`${root}packages/redis/scripts`, `${dist}/scripts`, { recursive: true });
    await build({
      entryPoints: [`${dist}/main.js`],
      outfile: `${dist}/bundle/main.js`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['@fastify/swagger', '@fastify/swagger-ui', 'pg-native', 'bufferutil', 'utf-8-validate'],
      // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
      banner: { js: "import { createRequire as __parleyRequire } from 'node:module'; const require = __parleyRequire(import.meta.url);" },
      logLevel: 'warning',
    });
  }),
);
