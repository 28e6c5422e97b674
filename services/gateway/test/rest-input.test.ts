import t from 'tap';
import { Stack } from '@parley/testkit';
import { inProcessGateways } from './in-process.js';

/** One raw request: what a client that does not use JSON.stringify (or any client at all) can send. */
async function raw(url: string, method: string, token: string, headers: Record<string, string>, body?: string | Uint8Array) {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, ...headers }, body: body as BodyInit | undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const json = { 'content-type': 'application/json' };

t.test('REST input: one contract for bad input, every refusal a catalogue code, nothing stored', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gateways = await inProcessGateways(t, stack, 1);
  const [gw] = gateways;
  const alice = stack.token('alice');
  const room = await stack.createGroup('alice', ['bob'], gateways[0]);
  const call = (method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array) => raw(gw!.url + path, method, alice, headers, body);
  const refused = (status: number, code: string, message?: RegExp) => ({ status, body: { statusCode: status, code, ...(message ? { message } : {}) } });

  await t.test('text that is not well-formed Unicode is refused wherever it enters', async (t) => {
    t.match(
      await call('POST', `/api/chats/${room}/participants`, json, '{"user_id":"x\\udfff"}'),
      refused(400, 'REQUEST_INVALID', /well-formed Unicode/),
      'a lone surrogate in a body (the poison member id)',
    );
    t.match(await call('POST', '/api/chats', json, '{"type":"group","name":"\\ud800 room"}'), refused(400, 'REQUEST_INVALID', /well-formed/), 'in a room name');
    t.match(
      await call('POST', `/api/chats/${room}/messages`, json, '{"client_id":"k1","message_type":"text","content":"hi","x\\udfff":1}'),
      refused(400, 'REQUEST_INVALID'),
      'in a key',
    );
    const notUtf8 = Buffer.concat([Buffer.from('{"client_id":"k2","message_type":"text","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    t.match(
      await call('POST', `/api/chats/${room}/messages`, json, notUtf8),
      refused(400, 'REQUEST_INVALID', /UTF-8/),
      'a body that is not UTF-8 (no U+FFFD stored in its place)',
    );
    t.match(await call('DELETE', `/api/chats/${room}/participants/%ED%A0%80`, {}), refused(400, 'REQUEST_INVALID'), 'an encoded surrogate in a path');
    t.match(await call('GET', '/api/messages/search?keyword=%ED%A0%80', {}), refused(400, 'REQUEST_INVALID', /not UTF-8/), 'an encoded surrogate in a query');
    t.match(await call('GET', '/api/messages/search?keyword=%FF', {}), refused(400, 'REQUEST_INVALID'), 'a byte that is no UTF-8 in a query');
    t.equal((await stack.db.selectFrom('room_members').select('user_id').where('room_id', '=', room).execute()).length, 2, 'no member was added');
    t.equal((await call('GET', `/api/messages/search?keyword=${encodeURIComponent('药师😀')}`, {})).status, 200, 'well-formed text of any script passes');
  });

  await t.test('bodies are validated strictly; only path and query are parsed into numbers', async (t) => {
    t.match(
      await call('POST', `/api/chats/${room}/messages`, json, '{"client_id":"c1","message_type":"text","content":true}'),
      refused(400, 'REQUEST_INVALID', /content must be string/),
      '{"content": true} is no text',
    );
    t.match(
      await call('POST', '/api/chats', json, '{"type":"group","name":"g","member_ids":"bob"}'),
      refused(400, 'REQUEST_INVALID'),
      'member_ids "bob" is no list',
    );
    t.match(
      await call('POST', '/api/chats', json, '{"type":"group","name":"g","is_public":"false"}'),
      refused(400, 'REQUEST_INVALID'),
      'is_public "false" is no boolean',
    );
    t.equal((await stack.db.selectFrom('rooms').select('id').execute()).length, 1, 'no room was made of them');
    t.match(await call('GET', `/api/chats/${room}/messages?limit=5`, {}), { status: 200, body: { messages: [] } }, 'a query number is still parsed');
  });

  await t.test("Fastify's own refusals answer with catalogue codes and never echo the path", async (t) => {
    const longest = 'u'.repeat(128);
    t.match(
      await call('DELETE', `/api/chats/${room}/participants/${longest}`, {}),
      refused(404, 'ROOM_MEMBER_NOT_FOUND'),
      'a 128-character id reaches its route',
    );
    const tooLong = await call('DELETE', `/api/chats/${room}/participants/${'u'.repeat(3000)}`, {});
    t.match(tooLong, refused(414, 'REQUEST_URL_TOO_LONG'), 'a path segment far past any id: 414 from the catalogue');
    t.notOk(JSON.stringify(tooLong.body).includes('uuuu'), 'the path is not echoed');
    t.match(
      await call('POST', `/api/chats/${room}/messages`, { 'content-type': 'application/xml' }, '<m/>'),
      refused(415, 'REQUEST_MEDIA_TYPE'),
      'a body of another type',
    );
    t.match(await call('POST', `/api/chats/${room}/messages`, json, '{"a":'), refused(400, 'REQUEST_INVALID'), 'JSON cut short');
    t.match(await call('POST', `/api/chats/${room}/messages`, json, '{"__proto__":{"admin":true}}'), refused(400, 'REQUEST_INVALID'), 'a __proto__ key');
  });

  await t.test('malformed multipart is a 400, a field over its limit a 413', async (t) => {
    const upload = (contentType: string, body: string) => call('POST', `/api/chats/${room}/files`, { 'content-type': contentType }, body);
    const part = '--XX\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello';
    t.match(await upload('multipart/form-data', 'xx'), refused(400, 'UPLOAD_INVALID'), 'no boundary');
    t.match(await upload('multipart/form-data; boundary=', 'xx'), refused(400, 'UPLOAD_INVALID'), 'an empty boundary');
    t.match(await upload('multipart/form-data; boundary=XX', part), refused(400, 'UPLOAD_INVALID'), 'a body cut short');
    const field = `--XX\r\nContent-Disposition: form-data; name="note"\r\n\r\n${'a'.repeat(2000)}\r\n${part}\r\n--XX--\r\n`;
    t.match(
      await upload('multipart/form-data; boundary=XX', field),
      refused(413, 'UPLOAD_FIELD_TOO_LARGE', /1024 bytes/),
      'a form field over UPLOAD_MAX_FIELD_BYTES',
    );
    t.equal((await stack.db.selectFrom('files').select('id').execute()).length, 0, 'no file was kept from any of them');
    t.equal(
      (await upload('multipart/form-data; boundary=XX', `--XX\r\nContent-Disposition: form-data; name="note"\r\n\r\nshort\r\n${part}\r\n--XX--\r\n`)).status,
      201,
      'a field within the limit, and the file, pass',
    );
  });
});
