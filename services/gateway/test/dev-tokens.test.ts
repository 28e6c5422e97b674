import t from 'tap';
import { Child, parleyCli, Stack, startGateway, TestClient } from '@parley/testkit';

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };

t.test('development tokens: a CLI and a route that an operator turns on by name, never in production', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gw = await stack.addGateway('demo', { DEV_TOKENS: 'true' });

  const minted = await stack.http(gw, 'POST', '/dev/tokens', undefined, { sub: 'dora', name: 'Dora', expires_in: 600 });
  t.equal(minted.status, 200);
  const { iat, exp } = claimsOf(minted.body.token);
  t.equal(exp - iat, 600, 'expires_in is in seconds: the token lives 600 s');
  t.ok(Math.abs(Date.parse(minted.body.expires_at) / 1000 - exp) < 2, 'expires_at is its exp');
  const viaRoute = await TestClient.open(gw.wsUrl, minted.body.token);
  t.equal(viaRoute.welcome.user_id, 'dora', 'the route’s token opens a socket');
  await viaRoute.client.close();
  t.match(await stack.http(gw, 'POST', '/dev/tokens', undefined, { sub: '' }), { status: 400, body: { code: 'REQUEST_INVALID' } });

  const run = new Child('token-cli', process.execPath, [parleyCli, 'token', 'erin', '--name', 'Erin'], {
    env: { ...process.env, JWT_SECRET: stack.env.JWT_SECRET },
  });
  t.equal((await run.exited).code, 0);
  const viaCli = await TestClient.open(gw.wsUrl, run.lines[0]!);
  t.equal(viaCli.welcome.user_id, 'erin', 'the CLI’s token opens a socket');
  await viaCli.client.close();

  // What an operator gets who sets only the required variables: no way to mint tokens.
  const bare = await startGateway({ REDIS_URL: stack.env.REDIS_URL!, DATABASE_URL: stack.env.DATABASE_URL!, JWT_SECRET: stack.env.JWT_SECRET! }, 'bare');
  t.teardown(() => bare.child.kill('SIGKILL'));
  t.match(await stack.http(bare, 'POST', '/dev/tokens', undefined, { sub: 'x' }), { status: 404, body: { code: 'REQUEST_NOT_FOUND' } }, 'off by default');
  const prod = await stack.addGateway('production', { NODE_ENV: 'production' });
  t.match(
    await stack.http(prod, 'POST', '/dev/tokens', undefined, { sub: 'x' }),
    { status: 404, body: { code: 'REQUEST_NOT_FOUND' } },
    'no route in production',
  );
  await t.rejects(
    stack.addGateway('production-dev', { NODE_ENV: 'production', DEV_TOKENS: 'true' }),
    /DEV_TOKENS=true is refused with NODE_ENV=production/,
    'asking for them in production stops the gateway at start',
  );
  const refused = new Child('token-cli-prod', process.execPath, [parleyCli, 'token', 'x'], {
    env: { ...process.env, JWT_SECRET: stack.env.JWT_SECRET, NODE_ENV: 'production' },
  });
  t.equal((await refused.exited).code, 2, 'the CLI refuses in production');
});
