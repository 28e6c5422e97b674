import t from 'tap';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Child, startRedis } from '@parley/testkit';
import { GatewayEnv, loadConfig as loadGatewayConfig } from '../src/config.js';
import { PersisterEnv, loadConfig as loadPersisterConfig } from '../../persister/src/config.js';

const main = (service: string) => fileURLToPath(new URL(`../../${service}/dist/bundle/main.js`, import.meta.url));
const good = { DATABASE_URL: 'postgres://parley@127.0.0.1:1/parley', JWT_SECRET: 'a-secret-of-32-characters-000000', REDIS_URL: 'redis://127.0.0.1:1' };

const cases: Array<[string, string, Record<string, string | undefined>, RegExp]> = [
  ['gateway', 'DATABASE_URL missing', { DATABASE_URL: undefined }, /DATABASE_URL/],
  ['gateway', 'PORT not a number', { PORT: 'eighty' }, /PORT/],
  ['gateway', 'JWT_SECRET too short', { JWT_SECRET: 'short' }, /JWT_SECRET/],
  ['gateway', 'JWT_SECRET missing', { JWT_SECRET: undefined }, /JWT_SECRET is required/],
  ['gateway', 'unknown JWT algorithm', { JWT_ALGORITHMS: 'none' }, /JWT_ALGORITHMS/],
  ['persister', 'REDIS_URL not a redis URL', { REDIS_URL: 'http://x' }, /REDIS_URL/],
  ['persister', 'PERSISTER_BATCH_SIZE zero', { PERSISTER_BATCH_SIZE: '0' }, /PERSISTER_BATCH_SIZE/],
  ['persister', 'WEBHOOK_URL without WEBHOOK_SECRET', { WEBHOOK_URL: 'https://push.example/hook' }, /WEBHOOK_SECRET is required/],
  ['gateway', 'SERVICE_TOKENS too short', { SERVICE_TOKENS: 'short' }, /SERVICE_TOKENS/],
  ['gateway', 'PRESENCE_TTL_SECONDS over 30', { PRESENCE_TTL_SECONDS: '60' }, /PRESENCE_TTL_SECONDS/],
  ['gateway', 'SHUTDOWN_TIMEOUT_MS not a number', { SHUTDOWN_TIMEOUT_MS: '10s' }, /SHUTDOWN_TIMEOUT_MS must be integer/],
  ['gateway', 'UPLOAD_ALLOWED_TYPES not a list of types', { UPLOAD_ALLOWED_TYPES: 'images' }, /UPLOAD_ALLOWED_TYPES must match pattern/],
  ['persister', 'METRICS_PORT out of range', { METRICS_PORT: '70000' }, /METRICS_PORT must be <= 65535/],
  ['persister', 'DATABASE_URL missing', { DATABASE_URL: undefined }, /required property 'DATABASE_URL'/],
];

// Each case through the services' own loadConfig, in this process: what main.ts does with its
// refusal (print it, exit 2) is shown once per service, by a real process.
const loaders = { gateway: loadGatewayConfig, persister: loadPersisterConfig };
for (const [service, name, override, expected] of cases) {
  t.test(`${service}: ${name} is refused, naming the variable`, async (t) => {
    t.throws(() => loaders[service as keyof typeof loaders]({ PATH: process.env.PATH, ...good, ...override }), { message: expected });
  });
}

for (const [service, override, expected] of [
  ['gateway', { PORT: 'eighty' }, /gateway: bad configuration: .*PORT/],
  ['persister', { DATABASE_URL: undefined }, /persister: bad configuration: .*DATABASE_URL/],
] as const) {
  t.test(`${service}: a bad setting stops the process with exit code 2, naming it`, async (t) => {
    const child = new Child(`${service}-config`, process.execPath, [main(service)], { env: { PATH: process.env.PATH, ...good, ...override } });
    t.equal((await child.exited).code, 2, 'exit code 2');
    t.match(child.lines.join('\n'), expected);
  });
}

t.test('REDIS_URL naming a Redis Cluster node: the services say so at start, naming REDIS_CLUSTER_NODES', async (t) => {
  const node = await startRedis(['--cluster-enabled', 'yes']);
  t.teardown(() => node.stop());
  for (const service of ['gateway', 'persister']) {
    const child = new Child(`${service}-cluster-url`, process.execPath, [main(service)], { env: { PATH: process.env.PATH, ...good, REDIS_URL: node.url } });
    const { code } = await child.exited;
    t.equal(code, 1, `the ${service} exits 1`);
    const said = child.lines.join('\n');
    t.match(said, new RegExp(`${service}: cannot start: REDIS_URL names a node of a Redis Cluster: .*REDIS_CLUSTER_NODES`));
    t.notMatch(said, /MOVED|CLUSTERDOWN|\n\s+at /, 'no stack trace, no raw Redis reply');
  }
});

t.test('.env.example lists exactly the settings the services read, each with its default', async (t) => {
  const schemas = [GatewayEnv, PersisterEnv];
  const settings = new Map<string, unknown>();
  for (const schema of schemas) for (const [name, prop] of Object.entries(schema.properties)) settings.set(name, (prop as { default?: unknown }).default);
  // The CLI's own variables (it reads JWT_SECRET, REDIS_URL and DATABASE_URL too, as the services do).
  const cliOnly = ['PARLEY_URL', 'PARLEY_TOKEN'];
  const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
  const listed = new Map([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  for (const [name, fallback] of settings) {
    t.ok(listed.has(name), `${name} is documented`);
    if (fallback !== undefined) t.equal(listed.get(name), `${fallback as string | number | boolean}`, `${name} shows its default`);
  }
  for (const name of listed.keys()) t.ok(settings.has(name) || cliOnly.includes(name), `${name} is a setting some service reads`);
});

t.test('the idempotency window is stated with its setting and default wherever the resend rule is', async (t) => {
  const ttl = (GatewayEnv.properties.IDEMPOTENCY_TTL_SECONDS as { default: number }).default;
  for (const doc of ['../../../docs/protocol.md', '../../../packages/client/README.md']) {
    const text = readFileSync(new URL(doc, import.meta.url), 'utf8').replace(/\s+/g, ' ');
    t.ok(text.includes(`\`IDEMPOTENCY_TTL_SECONDS\` (default ${ttl}: ${ttl / 3600} hours)`), `${doc} states the window and its default`);
    t.ok(text.includes('After that a resend is a new message'), `${doc} says what a later resend is`);
  }
});
