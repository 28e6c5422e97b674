import t from 'tap';
import { createSigner } from 'fast-jwt';
import { HandshakeRefused, Stack, TEST_JWT_SECRET, TestClient, type GatewayProcess } from '@parley/testkit';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** The status and code a token gets on the handshake and on REST. */
async function verdicts(gw: GatewayProcess, token: string): Promise<Array<{ status: number; code?: string }>> {
  const ws = await TestClient.connect(gw.wsUrl, token).then(
    async (client) => (await client.close(), { status: 101 }),
    (err: unknown) => {
      if (!(err instanceof HandshakeRefused)) throw err;
      return { status: err.status, code: (JSON.parse(err.body) as { code: string }).code };
    },
  );
  const res = await fetch(`${gw.url}/api/chats`, { headers: { authorization: `Bearer ${token}` } });
  const rest = { status: res.status, code: res.ok ? undefined : ((await res.json()) as { code: string }).code };
  return [ws, rest];
}

t.test('JWT corpus: every forged, stripped or tampered token is refused on the handshake and on REST', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0 });
  const [gw] = stack.gateways;
  const valid = stack.token('alice');
  const [header, payload, signature] = valid.split('.') as [string, string, string];
  const claims = { sub: 'alice', iat: now(), exp: now() + 600 };
  const sign = (extra: Record<string, unknown>, options: Record<string, unknown> = {}) =>
    createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', noTimestamp: true, ...options })(extra);

  t.same(
    (await verdicts(gw!, valid)).map((v) => v.status),
    [101, 200],
    'the valid token passes both (the control)',
  );
  const corpus: Array<[string, string, string]> = [
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, 'AUTH_TOKEN_INVALID'],
    ['alg None', `${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims)}.`, 'AUTH_TOKEN_INVALID'],
    ['alg NONE', `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims)}.`, 'AUTH_TOKEN_INVALID'],
    ['alg none with a real signature kept', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`, 'AUTH_TOKEN_INVALID'],
    ['alg switched to HS512, signature kept', `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`, 'AUTH_TOKEN_INVALID'],
    [
      'payload tampered (another sub, role admin), signature kept',
      `${header}.${b64({ ...claims, sub: 'mallory', role: 'admin' })}.${signature}`,
      'AUTH_TOKEN_INVALID',
    ],
    ['signature stripped', `${header}.${payload}.`, 'AUTH_TOKEN_INVALID'],
    ['signature of another secret', stack.token('alice', { secret: 'another-secret-0123456789abcdef' }), 'AUTH_TOKEN_INVALID'],
    ['no exp', sign({ sub: 'alice', iat: now() }), 'AUTH_TOKEN_INVALID'],
    ['no sub', sign({ iat: now(), exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['expired a second ago', sign({ sub: 'alice', exp: now() - 1 }), 'AUTH_TOKEN_EXPIRED'],
    ['not valid before an hour from now', sign({ sub: 'alice', exp: now() + 7200, nbf: now() + 3600 }), 'AUTH_TOKEN_INVALID'],
    ['two segments', `${header}.${payload}`, 'AUTH_TOKEN_INVALID'],
    ['payload not JSON', `${header}.${Buffer.from('{"sub":').toString('base64url')}.${signature}`, 'AUTH_TOKEN_INVALID'],
    // Claims that cannot be represented exactly: refused, never stored as something else.
    ['sub with a lone high surrogate', sign({ sub: 'u\ud800', exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['sub with a lone low surrogate', sign({ sub: 'u\udbff', exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['name with a lone surrogate', sign({ sub: 'alice', name: 'A\udfff', exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['numeric sub past 2^53', sign({ sub: 2 ** 53 + 2, exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['fractional sub', sign({ sub: 1.5, exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['negative sub', sign({ sub: -3, exp: now() + 600 }), 'AUTH_TOKEN_INVALID'],
    ['exp past the range of dates', sign({ sub: 'alice', exp: 1e13 }), 'AUTH_TOKEN_INVALID'],
    ['jti an object', sign({ sub: 'alice', exp: now() + 600, jti: { id: 1 } }), 'AUTH_TOKEN_INVALID'],
  ];
  for (const [name, token, code] of corpus) {
    const [ws, rest] = await verdicts(gw!, token);
    t.match(ws, { status: 401, code }, `${name}: handshake 401 ${code}`);
    t.match(rest, { status: 401, code }, `${name}: REST 401 ${code}`);
  }
  t.equal(await stack.db.selectFrom('users').select('id').where('id', '=', 'mallory').executeTakeFirst(), undefined, 'no forged user was ever recorded');
  t.equal(await stack.db.selectFrom('users').select('id').where('id', 'like', 'u%').executeTakeFirst(), undefined, 'no surrogate sub was stored as U+FFFD');
  t.same(
    (await verdicts(gw!, sign({ sub: 42, exp: now() + 600 }))).map((v) => v.status),
    [101, 200],
    'a whole-number sub (Laravel) still passes',
  );
});
