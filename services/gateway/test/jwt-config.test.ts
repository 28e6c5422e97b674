import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { HandshakeRefused, Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

const status = (p: Promise<TestClient>) =>
  p.then(
    async (c) => (await c.close(), 101),
    (e: unknown) => (e instanceof HandshakeRefused ? e.status : -1),
  );

t.test('RS256 with a public key; an HS256 token signed with that public key is refused', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { JWT_ALGORITHMS: 'RS256', JWT_PUBLIC_KEY: pub, JWT_SECRET: '' } });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const exp = Math.floor(Date.now() / 1000) + 600;

  const rs = createSigner({ key: priv, algorithm: 'RS256' })({ sub: 'alice', exp });
  t.equal(await status(TestClient.connect(gw!.wsUrl, rs)), 101, 'an RS256 token is accepted');
  const confused = createSigner({ key: pub, algorithm: 'HS256' })({ sub: 'alice', exp });
  t.equal(await status(TestClient.connect(gw!.wsUrl, confused)), 401, 'algorithm confusion is refused');
  t.equal(await status(TestClient.connect(gw!.wsUrl, stack.token('alice'))), 401, 'a shared-secret token is refused');
  const noExp = createSigner({ key: priv, algorithm: 'RS256', noTimestamp: true })({ sub: 'alice' });
  t.equal(await status(TestClient.connect(gw!.wsUrl, noExp)), 401, 'a token without exp is refused');
});

t.test('iss and aud are checked when configured', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { JWT_ISSUER: 'https://backend.example', JWT_AUDIENCE: 'parley' } });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const claims = (c: Record<string, unknown>) => stack.token('alice', { claims: c });
  t.equal(await status(TestClient.connect(gw!.wsUrl, claims({ iss: 'https://backend.example', aud: 'parley' }))), 101, 'matching iss and aud');
  t.equal(await status(TestClient.connect(gw!.wsUrl, claims({ iss: 'https://evil.example', aud: 'parley' }))), 401, 'wrong iss');
  t.equal(await status(TestClient.connect(gw!.wsUrl, claims({ iss: 'https://backend.example', aud: 'other' }))), 401, 'wrong aud');
  t.equal(await status(TestClient.connect(gw!.wsUrl, claims({ aud: 'parley' }))), 401, 'missing iss');
  t.equal(
    await status(TestClient.connect(gw!.wsUrl, stack.token(String(42), { claims: { sub: 42, iss: 'https://backend.example', aud: 'parley' } }))),
    101,
    'a numeric sub (Laravel) is accepted',
  );
});
