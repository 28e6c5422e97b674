import t from 'tap';
import { fileURLToPath } from 'node:url';
import { Child } from '@parley/testkit';

const main = (service: string) => fileURLToPath(new URL(`../../${service}/dist/main.js`, import.meta.url));
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
];

for (const [service, name, override, expected] of cases) {
  t.test(`${service}: ${name} stops the process and names the variable`, async (t) => {
    const env: Record<string, string | undefined> = { PATH: process.env.PATH, ...good, ...override };
    const child = new Child(`${service}-config`, process.execPath, [main(service)], { env: env as NodeJS.ProcessEnv });
    const { code } = await child.exited;
    t.equal(code, 2, 'exit code 2');
    t.match(child.lines.join('\n'), expected);
  });
}
