import t from 'tap';
import WebSocket from 'ws';
import { eventually, Stack } from '@parley/testkit';
import { inProcessGateway, type InProcessGateway } from './in-process.js';

// Handshakes are the gateway's logic: one Redis and Postgres for the file, in-process gateways with
// each test's settings.
const stack = await Stack.start(t, { gateways: 0, persisters: 0 });

/** A handshake with these headers: `open`, or the HTTP refusal's status and code. */
function handshake(gw: Pick<InProcessGateway, 'wsUrl'>, token: string, origin?: string): Promise<{ ws?: WebSocket; status?: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(gw.wsUrl, { headers: { authorization: `Bearer ${token}`, ...(origin ? { origin } : {}) } });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode, code: (JSON.parse(body) as { code: string }).code }));
    });
    ws.once('error', reject);
  });
}

t.test('Origin: the gateway’s own and the allowed ones open a socket; any other is refused with 403', async (t) => {
  const gw = await inProcessGateway(t, stack);
  const allowing = await inProcessGateway(t, stack, 'allowing', { ALLOWED_ORIGINS: 'https://app.example,http://localhost:5173' });
  const anyOrigin = await inProcessGateway(t, stack, 'any', { ALLOWED_ORIGINS: '*' });
  const token = stack.token('alice');
  const opened: WebSocket[] = [];
  t.teardown(() => opened.forEach((ws) => ws.terminate()));
  const expectOpen = async (g: InProcessGateway, origin: string | undefined, what: string) => {
    const r = await handshake(g, token, origin);
    t.ok(r.ws, what, r.ws ? {} : { got: r });
    if (r.ws) opened.push(r.ws);
  };

  await expectOpen(gw, undefined, 'no Origin (not a browser): open');
  await expectOpen(gw, `http://127.0.0.1:${gw.port}`, 'its own origin (the /chat page): open');
  t.match(await handshake(gw, token, 'https://evil.example'), { status: 403, code: 'WS_ORIGIN_NOT_ALLOWED' }, 'another site: 403');
  t.match(await handshake(gw, token, `http://127.0.0.1:${gw.port + 1}`), { status: 403 }, 'another port is another origin');
  t.match(await handshake(gw, token, 'null'), { status: 403 }, 'an opaque origin (sandboxed page, file:) is refused');
  await expectOpen(allowing, 'https://app.example', 'an allowed origin: open');
  await expectOpen(allowing, 'http://localhost:5173', 'the second allowed origin: open');
  t.match(await handshake(allowing, token, 'https://app.example.evil.example'), { status: 403 }, 'an origin is matched whole');
  await expectOpen(anyOrigin, 'https://evil.example', 'with ALLOWED_ORIGINS=* every origin: open');
});

t.test('a user holds at most WS_MAX_SOCKETS_PER_USER sockets on a gateway; concurrent handshakes cannot pass it', async (t) => {
  const gw = await inProcessGateway(t, stack, 'gateway1', { WS_MAX_SOCKETS_PER_USER: '3' });
  const token = stack.token('alice');
  const results = await Promise.all(Array.from({ length: 10 }, () => handshake(gw, token)));
  const open = results.flatMap((r) => (r.ws ? [r.ws] : []));
  t.teardown(() => open.forEach((ws) => ws.terminate()));
  t.equal(open.length, 3, 'of 10 concurrent handshakes, 3 open');
  t.ok(
    results.filter((r) => !r.ws).every((r) => r.status === 429 && r.code === 'WS_TOO_MANY_SOCKETS'),
    'the other 7: 429 WS_TOO_MANY_SOCKETS',
  );
  const bob = await handshake(gw, stack.token('bob'));
  t.ok(bob.ws, 'another user is not affected');
  bob.ws?.terminate();

  const closed = new Promise((resolve) => open[0]!.once('close', resolve));
  open[0]!.close();
  await closed;
  // The gateway sees the TCP connection close just after the client does.
  const again = await eventually(async () => (await handshake(gw, token)).ws, 5000, 'a place freed');
  open.push(again);
  t.pass('a closed socket frees its place');
  t.match(await handshake(gw, token), { status: 429 }, 'and the cap holds again');
});

t.test('a token over 8 KB is refused before it is decoded, on the handshake and on REST', async (t) => {
  const gw = await inProcessGateway(t, stack);
  // Validly signed, so only its length refuses it.
  const big = stack.token('alice', { claims: { padding: 'x'.repeat(9000) } });
  t.ok(big.length > 8192);
  t.match(await handshake(gw, big), { status: 401, code: 'AUTH_TOKEN_INVALID' }, 'handshake: 401');
  t.match(await stack.http(gw, 'GET', '/api/chats', big), { status: 401, body: { code: 'AUTH_TOKEN_INVALID', message: /at most 8192/ } }, 'REST: 401');
  const fits = stack.token('alice', { claims: { padding: 'x'.repeat(5000) } });
  t.ok(fits.length <= 8192);
  t.equal((await stack.http(gw, 'GET', '/api/chats', fits)).status, 200, 'a long token within the limit is accepted');
});

t.test('a hello that fails (Postgres down) is answered with its error, and the socket closed for the client to reconnect', async (t) => {
  const gw = await inProcessGateway(t, stack);
  const { ws } = await handshake(gw, stack.token('alice'));
  const frames: Array<{ type: string; code?: string }> = [];
  ws!.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString()) as { type: string; code?: string }));
  const closed = new Promise<number>((resolve) => ws!.once('close', resolve));
  await stack.pgServer.restart(async () => {
    ws!.send('{"type":"hello"}');
    const code = await closed;
    t.ok([1011, 1013].includes(code), `closed with ${code}: reconnect (1013 TRY_AGAIN_LATER when the failure is reported as unavailable)`);
  });
  t.match(frames, [{ type: 'error' }], 'the failure was answered before the close');
  t.notOk(
    frames.some((f) => f.type === 'welcome'),
    'no welcome',
  );
  const { ws: again } = await handshake(gw, stack.token('alice'));
  t.teardown(() => again!.terminate());
  again!.send('{"type":"hello"}');
  const welcome = await new Promise<{ type: string }>((resolve) =>
    again!.once('message', (d) => resolve(JSON.parse((d as Buffer).toString()) as { type: string })),
  );
  t.equal(welcome.type, 'welcome', 'with Postgres back, a new socket is welcomed');
});
