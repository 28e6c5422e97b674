import t from 'tap';
import { fileURLToPath } from 'node:url';
import { Child, Stack, TestClient } from '@parley/testkit';

const cli = fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url));

t.test('development tokens: a CLI and a route, neither in production', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0 });
  const [gw] = stack.gateways;

  const minted = await stack.http(gw!, 'POST', '/dev/tokens', undefined, { sub: 'dora', name: 'Dora', expires_in: 600 });
  t.equal(minted.status, 200);
  const viaRoute = await TestClient.open(gw!.wsUrl, minted.body.token);
  t.equal(viaRoute.welcome.user_id, 'dora', 'the route’s token opens a socket');
  await viaRoute.client.close();
  t.match(await stack.http(gw!, 'POST', '/dev/tokens', undefined, { sub: '' }), { status: 400, body: { code: 'REQUEST_INVALID' } });

  const run = new Child('token-cli', process.execPath, [cli, 'token', 'erin', '--name', 'Erin'], { env: { ...process.env, JWT_SECRET: stack.env.JWT_SECRET } });
  t.equal((await run.exited).code, 0);
  const viaCli = await TestClient.open(gw!.wsUrl, run.lines[0]!);
  t.equal(viaCli.welcome.user_id, 'erin', 'the CLI’s token opens a socket');
  await viaCli.client.close();

  const prod = await stack.addGateway('production', { NODE_ENV: 'production' });
  t.match(await stack.http(prod, 'POST', '/dev/tokens', undefined, { sub: 'x' }), { status: 404, body: { code: 'REQUEST_NOT_FOUND' } }, 'no route in production');
  const refused = new Child('token-cli-prod', process.execPath, [cli, 'token', 'x'], { env: { ...process.env, JWT_SECRET: stack.env.JWT_SECRET, NODE_ENV: 'production' } });
  t.equal((await refused.exited).code, 2, 'the CLI refuses in production');
});
