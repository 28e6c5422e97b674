import t from 'tap';
import { HandshakeRefused, Stack, TEST_SERVICE_TOKEN, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

t.test('a revoked jti: its sockets close with 4103 on every gateway, and it is refused from then on', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 2);
  const [gw1, gw2] = gateways;
  const revoked = stack.token('alice', { claims: { jti: 'tok-1' } });
  const other = stack.token('alice', { claims: { jti: 'tok-2' } });
  const { client: onGw2 } = await TestClient.open(gw2!.wsUrl, revoked);
  const { client: otherSocket } = await TestClient.open(gw2!.wsUrl, other);
  t.teardown(() => otherSocket.close());
  t.equal((await stack.http(gw1!, 'GET', '/api/chats', revoked)).status, 200, 'before: the token works');

  const revoke = (body: unknown, token = TEST_SERVICE_TOKEN) => stack.http(gw1!, 'POST', '/api/service/tokens/revoke', token, body);
  t.match(await revoke({ jti: 'tok-1' }, revoked), { status: 401 }, 'only the service revokes');
  t.match(await revoke({ token: 'tok-1' }), { status: 400, body: { code: 'REQUEST_INVALID' } });
  t.equal((await revoke({ jti: 'tok-1', expires_at: new Date(Date.now() + 3_600_000).toISOString() })).status, 204);

  t.equal((await onGw2.closed).code, 4103, 'its socket on the other gateway is closed with 4103');
  const refused = await TestClient.connect(gw2!.wsUrl, revoked).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(
    refused instanceof HandshakeRefused && refused.status === 401 && JSON.parse(refused.body).code === 'AUTH_TOKEN_REVOKED',
    'a new handshake: 401 AUTH_TOKEN_REVOKED',
  );
  t.match(await stack.http(gw1!, 'GET', '/api/chats', revoked), { status: 401, body: { code: 'AUTH_TOKEN_REVOKED' } }, 'REST: 401 AUTH_TOKEN_REVOKED');
  otherSocket.send({ type: 'refresh_token', token: revoked });
  t.match(await otherSocket.next('error'), { code: 'AUTH_TOKEN_REVOKED' }, 'a refresh to the revoked token is refused');

  t.equal((await stack.http(gw1!, 'GET', '/api/chats', other)).status, 200, 'another token of the same user works');
  t.equal((await stack.http(gw1!, 'GET', '/api/chats', stack.token('alice'))).status, 200, 'and a token without jti');
  await otherSocket.barrier();
  t.notOk(
    otherSocket.frames.some((f) => f.type === 'error' && f.code !== 'AUTH_TOKEN_REVOKED'),
    'the other socket stays open and well',
  );
});

t.test('a numeric jti is revoked by its decimal form, on REST and on its socket', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const numeric = stack.token('alice', { claims: { jti: 77 } });
  const { client } = await TestClient.open(gw!.wsUrl, numeric);
  t.equal((await stack.http(gw!, 'POST', '/api/service/tokens/revoke', TEST_SERVICE_TOKEN, { jti: '77' })).status, 204);
  t.equal((await client.closed).code, 4103, 'its socket is closed');
  t.match(await stack.http(gw!, 'GET', '/api/chats', numeric), { status: 401, body: { code: 'AUTH_TOKEN_REVOKED' } }, 'and REST refuses it');
});
