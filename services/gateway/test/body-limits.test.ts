import t from 'tap';
import { connect, type Socket } from 'node:net';
import { createGroupRoom } from '@parley/db';
import { Stack } from '@parley/testkit';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

/** A raw HTTP/1.1 connection: requests written as bytes, responses read whole (headers, then Content-Length bytes). */
class RawHttp {
  private buffered = Buffer.alloc(0);
  private waiting?: () => void;
  ended = false;
  readonly socket: Socket;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiting?.();
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  /** The next response: status, headers (lower-cased) and body; rejects if the connection ends first. */
  async response(): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    for (;;) {
      const head = this.buffered.indexOf('\r\n\r\n');
      if (head >= 0) {
        const lines = this.buffered.subarray(0, head).toString('latin1').split('\r\n');
        const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers.get('content-length') ?? 0);
        if (this.buffered.length >= head + 4 + length) {
          const body = this.buffered.subarray(head + 4, head + 4 + length).toString('utf8');
          this.buffered = this.buffered.subarray(head + 4 + length);
          return { status: Number(lines[0]!.split(' ')[1]), headers, body };
        }
      }
      if (this.ended) throw new Error('the connection ended before a whole response');
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  close() {
    this.socket.destroy();
  }
}

t.test('a body past the limit gets its 413 whole, on a connection that stays usable; nothing is stored', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const app = await buildApp(loadConfig({ ...stack.env, NODE_ID: 'body-limits', LOG_LEVEL: 'silent' }));
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const room = (await createGroupRoom(stack.db, 'alice', { name: 'limits', isPublic: false, memberIds: ['bob'] })).id;
  const auth = `authorization: Bearer ${stack.token('alice')}\r\n`;
  const post = (length: number) =>
    `POST /api/chats/${room}/messages HTTP/1.1\r\nhost: gw\r\n${auth}content-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

  // 300 KiB of JSON against the default 256 KiB limit, sent whole before anything is read.
  const body = JSON.stringify({ client_id: 'big', message_type: 'text', content: 'x'.repeat(300 * 1024) });
  const http = new RawHttp(port);
  t.teardown(() => http.close());
  http.socket.write(post(Buffer.byteLength(body)) + body);
  const refused = await http.response();
  t.equal(refused.status, 413);
  t.match(JSON.parse(refused.body), { code: 'REQUEST_TOO_LARGE' });
  t.not(refused.headers.get('connection'), 'close', 'the connection is kept: the rest of the body was read, not left to a reset');
  http.socket.write(`GET /api/chats/${room}/messages HTTP/1.1\r\nhost: gw\r\n${auth}\r\n`);
  const next = await http.response();
  t.equal(next.status, 200, 'the next request on the same connection is answered');
  t.same(JSON.parse(next.body).messages, [], 'nothing was stored');

  // Sent in pieces, the refusal arriving while the body is still on its way.
  const slow = new RawHttp(port);
  t.teardown(() => slow.close());
  slow.socket.write(post(Buffer.byteLength(body)));
  const early = slow.response();
  for (let at = 0; at < body.length; at += 64 * 1024) slow.socket.write(body.slice(at, at + 64 * 1024));
  t.match(await early, { status: 413 }, 'a body in pieces: the same 413');
  slow.socket.write(`GET /api/chats/${room}/messages HTTP/1.1\r\nhost: gw\r\n${auth}\r\n`);
  t.equal((await slow.response()).status, 200, 'and the connection serves the next request');

  // A body declared far past anything worth reading is not read: 413, and the connection closes.
  const huge = new RawHttp(port);
  t.teardown(() => huge.close());
  huge.socket.write(post(64 * 1024 * 1024));
  const cut = await huge.response();
  t.equal(cut.status, 413);
  t.equal(cut.headers.get('connection'), 'close', '64 MiB declared: refused and cut off');
});
