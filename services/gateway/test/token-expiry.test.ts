import t from 'tap';
import { Stack, TestClient } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

/** exp of a token (ms since the epoch), read the way a client would: the payload is not secret. */
const expOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;

t.test('a socket lives as long as its token, and longer with a refreshed one', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const open = async (token: string) => {
    const { client, welcome } = await TestClient.open(gw!.wsUrl, token);
    t.teardown(() => client.close());
    t.equal(Date.parse(welcome.token_expires_at), expOf(token), 'welcome reports when the token expires');
    return client;
  };

  const plain = stack.token('alice', { expiresIn: 2 });
  const refreshed = stack.token('bob', { expiresIn: 2 });
  const wrongUser = stack.token('carol', { expiresIn: 2 });
  const [a, b, c] = await Promise.all([open(plain), open(refreshed), open(wrongUser)]);

  // Bob refreshes with a token that lives two seconds longer.
  const fresh = stack.token('bob', { expiresIn: 4 });
  b.send({ type: 'refresh_token', token: fresh });
  t.match(await b.next('token_refreshed'), { expires_at: new Date(expOf(fresh)).toISOString() });

  // Carol's refreshes are refused, and her socket stays as it was.
  const refuse = async (token: string) => {
    const from = c.frames.length;
    c.send({ type: 'refresh_token', token });
    return c.find((f) => f.type === 'error' || f.type === 'token_refreshed', 5000, from);
  };
  t.match(await refuse(stack.token('mallory', { expiresIn: 60 })), { type: 'error', code: 'AUTH_SUBJECT_CHANGED' }, 'a token of another user is refused');
  t.match(await refuse(stack.token('carol', { expiresIn: -5 })), { type: 'error', code: 'AUTH_TOKEN_EXPIRED' }, 'an expired token is refused');
  t.match(
    await refuse(stack.token('carol', { secret: 'another-secret-0123456789abcdef' })),
    { type: 'error', code: 'AUTH_TOKEN_INVALID' },
    'a token signed with another key is refused',
  );
  await c.barrier();

  const closedAt = async (client: TestClient) => {
    const { code } = await client.closed;
    return { code, at: Date.now() };
  };
  const [closeA, closeB, closeC] = await Promise.all([closedAt(a), closedAt(b), closedAt(c)]);
  for (const [name, closed, token] of [
    ['alice', closeA, plain],
    ['carol', closeC, wrongUser],
    ['bob', closeB, fresh],
  ] as const) {
    t.equal(closed.code, 4102, `${name}'s socket is closed with 4102 (TOKEN_EXPIRED)`);
    t.ok(
      closed.at >= expOf(token) - 50 && closed.at < expOf(token) + 1500,
      `${name}'s socket closes at the exp of ${token === fresh ? 'the refreshed' : 'its'} token (${closed.at - expOf(token)} ms after)`,
    );
  }
  t.ok(closeB.at > expOf(refreshed) + 1000, 'bob outlived his first token');
});
