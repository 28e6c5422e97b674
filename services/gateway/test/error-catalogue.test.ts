import t from 'tap';
import { randomUUID } from 'node:crypto';
import { errors, type ErrorCode } from '@parley/protocol';
import { freePort, HandshakeRefused, multipart, Stack, TEST_SERVICE_TOKEN, TestClient, upload, type GatewayProcess, type Part } from '@parley/testkit';

/** What a refusal was: the HTTP status (none for an error frame) and the code. */
interface Refusal {
  status?: number;
  code?: string;
}

/** A code no request can be made to give: the answer to a bug. */
const UNDRIVABLE: Partial<Record<ErrorCode, string>> = { INTERNAL: 'what an unexpected exception answers; no valid or invalid input should reach it' };

t.test('every code in the catalogue is driven by a request, with the status docs/errors.md gives it', async (t) => {
  const stack = await Stack.start(t, { gateways: 1, persisters: 0, env: { UPLOAD_MAX_BYTES: '1000', UPLOAD_MAX_FILES: '1' } });
  const [gw] = stack.gateways as [GatewayProcess];
  const [tight, limited, noPostgres] = [
    await stack.addGateway('tight', { RECALL_WINDOW_SECONDS: '0', HTTP_BODY_LIMIT_BYTES: '1024', WS_MAX_SOCKETS_PER_USER: '1', STREAM_MAX_BACKLOG: '1' }),
    await stack.addGateway('limited', { REST_RATE_LIMIT: '1' }),
    await stack.addGateway('no-postgres', { DATABASE_URL: `postgres://parley@127.0.0.1:${await freePort()}/none` }),
  ];
  const token = (user: string) => stack.token(user);
  const rest = async (
    method: string,
    path: string,
    as?: string,
    body?: unknown,
    on: GatewayProcess = gw,
    headers: Record<string, string> = {},
  ): Promise<Refusal> => {
    const res = await fetch(on.url + path, {
      method,
      headers: {
        ...(as ? { authorization: `Bearer ${token(as)}` } : {}),
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, code: ((await res.json().catch(() => ({}))) as { code?: string }).code };
  };
  const handshake = (url: string, bearer: string, origin?: string): Promise<Refusal> =>
    TestClient.connect(url, bearer, 'header', origin).then(
      (c) => (t.teardown(() => c.close()), { status: 101 }),
      (err: unknown) => {
        if (err instanceof HandshakeRefused) return { status: err.status, code: JSON.parse(err.body).code };
        throw err;
      },
    );
  const frameError = async (client: TestClient, send: (client: TestClient) => void): Promise<Refusal> => {
    const before = client.frames.length;
    send(client);
    return { code: ((await client.find((f) => f.type === 'error', 15_000, before)) as { code: string }).code };
  };

  const room = await stack.createGroup('alice', ['bob']);
  const other = await stack.createGroup('alice', ['bob']);
  const sent = await rest('POST', `/api/chats/${room}/messages`, 'alice', { client_id: 'first', message_type: 'text', content: 'the first message' });
  t.equal(sent.status, 201);
  const text = await upload(gw, room, token('alice'), [{ filename: 'note.txt', type: 'text/plain', data: Buffer.from('a short note') }]);
  const fileId = text.body.files[0].id as string;
  const uploaded = async (parts: Part[]): Promise<Refusal> => {
    const res = await upload(gw, room, token('alice'), parts);
    return { status: res.status, code: res.body.code };
  };
  // One socket for the frame refusals, opened when the first is driven (it has WS_HELLO_TIMEOUT_MS to say hello).
  let opened: TestClient | undefined;
  const socket = async () => {
    if (!opened) {
      opened = await TestClient.connect(gw.wsUrl, token('alice'));
      t.teardown(() => opened!.close());
    }
    return opened;
  };

  const drivers: Record<ErrorCode, () => Promise<Refusal>> = {
    AUTH_TOKEN_MISSING: () => rest('GET', '/api/chats'),
    AUTH_TOKEN_INVALID: () => rest('GET', '/api/chats', undefined, undefined, gw, { authorization: 'Bearer not.a.jwt' }),
    AUTH_TOKEN_EXPIRED: () => rest('GET', '/api/chats', undefined, undefined, gw, { authorization: `Bearer ${stack.token('alice', { expiresIn: -10 })}` }),
    AUTH_TOKEN_REVOKED: async () => {
      const revoked = stack.token('alice', { claims: { jti: 'catalogue-1' } });
      await stack.http(gw, 'POST', '/api/service/tokens/revoke', TEST_SERVICE_TOKEN, { jti: 'catalogue-1' });
      return rest('GET', '/api/chats', undefined, undefined, gw, { authorization: `Bearer ${revoked}` });
    },
    AUTH_SUBJECT_CHANGED: async () => {
      const { client } = await TestClient.open(gw.wsUrl, token('alice'));
      t.teardown(() => client.close());
      return frameError(client, (c) => c.send({ type: 'refresh_token', token: token('bob') }));
    },
    REQUEST_INVALID: () => rest('POST', '/api/chats', 'alice', {}),
    REQUEST_TOO_LARGE: () => rest('POST', `/api/chats/${room}/messages`, 'alice', { client_id: 'big', message_type: 'text', content: 'x'.repeat(2000) }, tight),
    REQUEST_NOT_FOUND: () => rest('GET', '/api/nothing-here', 'alice'),
    REQUEST_MEDIA_TYPE: () => rest('POST', `/api/chats/${room}/messages`, 'alice', '<message/>', gw, { 'content-type': 'application/xml' }),
    REQUEST_URL_TOO_LONG: () => rest('DELETE', `/api/chats/${room}/participants/${'u'.repeat(3000)}`, 'alice'),
    WS_ORIGIN_NOT_ALLOWED: () => handshake(gw.wsUrl, token('alice'), 'https://evil.example'),
    WS_TOO_MANY_SOCKETS: async () => {
      await handshake(tight.wsUrl, token('sockets'));
      return handshake(tight.wsUrl, token('sockets'));
    },
    RATE_LIMITED: async () => {
      await rest('GET', '/api/chats', 'ratey', undefined, limited);
      return rest('GET', '/api/chats', 'ratey', undefined, limited);
    },
    FRAME_HELLO_REQUIRED: async () => frameError(await socket(), (c) => c.send({ type: 'mark_read', chat_id: room, seq: 1 })),
    FRAME_NOT_JSON: async () => frameError(await socket(), (c) => c.sendRaw('{not json')),
    FRAME_BINARY: async () => frameError(await socket(), (c) => c.sendRaw(Buffer.from([1, 2, 3]), true)),
    FRAME_UNKNOWN_TYPE: async () => frameError(await socket(), (c) => c.sendRaw('{"type":"shout"}')),
    FRAME_INVALID: async () => frameError(await socket(), (c) => c.sendRaw('{"type":"mark_read","chat_id":"one","seq":1}')),
    FRAME_HELLO_REPEATED: async () => {
      const c = await socket();
      c.send({ type: 'hello' });
      await c.next('welcome');
      return frameError(c, (again) => again.send({ type: 'hello' }));
    },
    ADMIN_REQUIRED: () => rest('GET', '/api/users?scope=all', 'alice'),
    ROOM_NOT_FOUND: () => rest('GET', '/api/chats/999999', 'alice'),
    ROOM_NOT_MEMBER: () => rest('GET', `/api/chats/${room}/messages`, 'carol'),
    ROOM_NOT_ADMIN: () => rest('POST', `/api/chats/${room}/participants`, 'bob', { user_id: 'dave' }),
    ROOM_NOT_CREATOR: async () => {
      await rest('PATCH', `/api/chats/${other}/participants/bob`, 'alice', { role: 'admin' });
      return rest('DELETE', `/api/chats/${other}`, 'bob');
    },
    ROOM_PRIVATE: async () => {
      const secret = await stack.http(gw, 'POST', '/api/chats', token('alice'), { type: 'group', name: 'secret', is_public: false });
      return rest('POST', `/api/chats/${secret.body.id}/join`, 'carol');
    },
    ROOM_OFFICIAL_FORBIDDEN: () => rest('POST', '/api/chats', 'carol', { type: 'group', name: 'news', is_official: true }),
    ROOM_MEMBER_NOT_FOUND: () => rest('DELETE', `/api/chats/${room}/participants/nobody`, 'alice'),
    ROOM_DIRECT_SELF: () => rest('POST', '/api/chats', 'alice', { type: 'direct', user_id: 'alice' }),
    ROOM_DIRECT_MEMBERS: async () => {
      const direct = await stack.http(gw, 'POST', '/api/chats', token('alice'), { type: 'direct', user_id: 'bob' });
      return rest('POST', `/api/chats/${direct.body.id}/leave`, 'alice');
    },
    ROOM_NOT_DIRECT: () => rest('GET', `/api/chats/${room}/messages/1/status`, 'alice'),
    MESSAGE_EMPTY: () => rest('POST', `/api/chats/${room}/messages`, 'alice', { client_id: 'empty', message_type: 'text', content: '' }),
    FILE_NOT_FOUND: () => rest('GET', `/api/files/${randomUUID()}/download`, 'alice'),
    FILE_TOO_LARGE: () => uploaded([{ filename: 'big.txt', type: 'text/plain', data: Buffer.alloc(2000, 'a') }]),
    FILE_TOO_MANY: () => uploaded([1, 2].map((n) => ({ filename: `n${n}.txt`, type: 'text/plain', data: Buffer.from(`note ${n}`) }))),
    FILE_TYPE_NOT_ALLOWED: () =>
      uploaded([{ filename: 'page.png', type: 'image/png', data: Buffer.from('<!doctype html><html><script>alert(1)</script></html>') }]),
    FILE_TYPE_MISMATCH: () =>
      rest('POST', `/api/chats/${room}/messages`, 'alice', { client_id: 'as-image', message_type: 'image', content: '', file_id: fileId }),
    RANGE_NOT_SATISFIABLE: () => rest('GET', `/api/files/${fileId}/download`, 'alice', undefined, gw, { range: 'bytes=500-600' }),
    UPLOAD_INVALID: () => rest('POST', `/api/chats/${room}/files`, 'alice', 'xx', gw, { 'content-type': 'multipart/form-data' }),
    UPLOAD_FIELD_TOO_LARGE: () => {
      const { body, contentType } = multipart([
        { field: 'note', data: Buffer.alloc(2000, 'a') },
        { filename: 'n.txt', type: 'text/plain', data: Buffer.from('note') },
      ]);
      return rest('POST', `/api/chats/${room}/files`, 'alice', body.toString(), gw, { 'content-type': contentType });
    },
    MESSAGE_NOT_FOUND: () => rest('PATCH', `/api/chats/${room}/messages/999`, 'alice', { client_id: 'edit-none', content: 'edited' }),
    MESSAGE_NOT_SENDER: () => rest('PATCH', `/api/chats/${room}/messages/1`, 'bob', { client_id: 'edit-theirs', content: 'edited' }),
    MESSAGE_DELETED: async () => {
      const doomed = await stack.http(gw, 'POST', `/api/chats/${room}/messages`, token('alice'), {
        client_id: 'doomed',
        message_type: 'text',
        content: 'soon gone',
      });
      await rest('DELETE', `/api/chats/${room}/messages/${doomed.body.seq}`, 'alice');
      return rest('PATCH', `/api/chats/${room}/messages/${doomed.body.seq}`, 'alice', { client_id: 'edit-gone', content: 'edited' });
    },
    MESSAGE_RECALL_EXPIRED: () => rest('POST', `/api/chats/${room}/messages/1/recall`, 'alice', undefined, tight),
    MESSAGE_NOT_FORWARDABLE: async () => {
      await rest('POST', `/api/chats/${room}/participants`, 'alice', { user_id: 'erin' });
      const history = await stack.http(gw, 'GET', `/api/chats/${room}/messages`, token('alice'));
      const system = history.body.messages.find((m: { message_type: string }) => m.message_type === 'system');
      return rest('POST', `/api/chats/${room}/messages/${system.seq}/forward`, 'alice', { client_id: 'fwd-system', chat_id: other });
    },
    MESSAGE_BACKLOG_FULL: () =>
      rest('POST', `/api/chats/${room}/messages`, 'alice', { client_id: 'backlog', message_type: 'text', content: 'one too many' }, tight),
    SERVICE_UNAVAILABLE: () => rest('GET', '/api/chats', 'alice', undefined, noPostgres),
    INTERNAL: async () => ({}),
  };

  for (const code of Object.keys(errors) as ErrorCode[]) {
    if (UNDRIVABLE[code]) {
      t.comment(`${code} is not driven: ${UNDRIVABLE[code]}`);
      continue;
    }
    const seen = await drivers[code]();
    const expected = seen.status === undefined ? { code } : { status: errors[code].status, code };
    t.match(seen, expected, `${code}: ${seen.status === undefined ? 'an error frame' : errors[code].status}`);
  }
  t.same(Object.keys(UNDRIVABLE), ['INTERNAL'], 'only INTERNAL goes undriven');
});
