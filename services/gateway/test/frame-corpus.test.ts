import t from 'tap';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Stack, TestClient, type GatewayProcess } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

/** A client frame, masked as RFC 6455 requires, with any opcode, FIN bit and payload. */
function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  const head =
    length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}

/** A raw, upgraded TCP connection to /ws, and the server frames read from it (opcode, payload). */
async function rawSocket(gw: Pick<GatewayProcess, 'port'>, token: string) {
  const socket: Socket = connect(gw.port, '127.0.0.1');
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  const closed = new Promise<number | undefined>((resolve) => {
    socket.on('close', () => resolve(frames.find((f) => f.opcode === 8)?.payload.readUInt16BE(0)));
  });
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buffer.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return reject(new Error(buffer.toString()));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolve();
      }
      // Server frames are unmasked; lengths below 64 KiB here.
      while (buffer.length >= 2) {
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        }
        if (buffer.length < offset + length) return;
        frames.push({ opcode: buffer[0]! & 0x0f, payload: buffer.subarray(offset, offset + length) });
        buffer = buffer.subarray(offset + length);
      }
    });
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${gw.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
  });
  return { socket, frames, closed };
}

t.test('frame corpus: protocol abuse closes the socket with the right code; the gateway serves everyone else', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const room = await stack.createGroup('bob', ['alice'], gateways[0]);
  const { client: bob } = await TestClient.open(gw!.wsUrl, stack.token('bob'));
  t.teardown(() => bob.close());
  const token = stack.token('mallory');

  const utf8 = await rawSocket(gw!, token);
  utf8.socket.write(frame(0x1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
  t.equal(await utf8.closed, 1007, 'a text frame that is not UTF-8: 1007');

  const control = await rawSocket(gw!, token);
  control.socket.write(frame(0x9, Buffer.alloc(126, 1)));
  t.equal(await control.closed, 1002, 'a ping over 125 bytes (a control frame too long): 1002');

  // ws answers each ping with a pong, and drops a socket with 60 pongs not yet flushed (its
  // maxPendingAutoPongs): a burst of pings ends the connection rather than queueing pongs for it.
  const pingFlood = await rawSocket(gw!, token);
  const ping = frame(0x9, Buffer.from('p'));
  pingFlood.socket.write(Buffer.concat(Array.from({ length: 5000 }, () => ping)));
  await pingFlood.closed;
  const pongs = pingFlood.frames.filter((f) => f.opcode === 0xa).length;
  t.ok(pongs <= 60, `a burst of 5,000 pings: the socket is dropped after ${pongs} pongs`);

  const fragmented = await rawSocket(gw!, token);
  fragmented.socket.write(frame(0x1, Buffer.from('{'), false));
  const tiny = frame(0x0, Buffer.from(' '), false);
  fragmented.socket.write(Buffer.concat(Array.from({ length: 70_000 }, () => tiny)));
  t.equal(await fragmented.closed, 1008, "a flood of 70,000 one-byte fragments: 1008 (ws's fragment limit)");

  const alice = await TestClient.connect(gw!.wsUrl, stack.token('alice'));
  t.teardown(() => alice.close());
  alice.send({ type: 'hello' });
  await alice.next('welcome');
  const expectError = async (raw: string, code: string, name: string) => {
    const before = alice.frames.length;
    alice.sendRaw(raw);
    t.match(await alice.find((f) => f.type === 'error', 10_000, before), { code }, name);
  };
  await expectError('['.repeat(30_000) + ']'.repeat(30_000), 'FRAME_NOT_JSON', '30,000 levels of nesting');
  await expectError('{"type":"ping","a":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_001), 'FRAME_INVALID', 'deep nesting inside an object');
  await expectError('{"type":"hello","constructor":{"prototype":{"admin":true}}}', 'FRAME_INVALID', 'a constructor key');
  await expectError('{"__proto__":{"type":"hello"}}', 'FRAME_UNKNOWN_TYPE', 'a type hidden in __proto__ is not a type');
  await expectError('{"type":"mark_read","chat_id":1e400}', 'FRAME_INVALID', 'a number out of range');
  await expectError('{"type":"mark_read","chat_id":1,"seq":-1}', 'FRAME_INVALID', 'a negative seq');

  t.match(await bob.sendMessage(room, 'still serving', 'b-1'), { type: 'ack', seq: 1 }, 'other clients are served throughout');
  t.equal((await alice.waitForSeq(room, 1)).content, 'still serving');
});
