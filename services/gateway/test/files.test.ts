import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { eventually, multipart, Stack, TestClient, upload } from '@parley/testkit';
import { formatBytes } from '@parley/protocol';

type Gateway = NonNullable<Awaited<ReturnType<typeof Stack.start>>['gateways'][0]>;
// A 1x1 PNG, and bytes of each kind the tests need.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f6e4a90000000049454e44ae426082',
  'hex',
);
const png = (size: number) => Buffer.concat([PNG, randomBytes(Math.max(0, size - PNG.length))]).subarray(0, size);
const MP4 = Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), randomBytes(4000)]);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function download(gw: Gateway, path: string, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(gw.url + path, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Every file under the upload directory, relative to it. */
function storedFiles(dir: string): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name))]));
  return existsSync(dir) ? walk(dir) : [];
}

/** Peak resident memory of a process (VmHWM), in bytes. */
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

const LIMIT = 96 * 1024 * 1024;

t.test('files: upload and download across gateways, limits, names, types, members, aborts, concurrency', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1, env: { UPLOAD_MAX_BYTES: String(LIMIT), UPLOAD_MAX_FILES: '3' } });
  const [gwA, gwB] = stack.gateways as [Gateway, Gateway];
  const room = await stack.createGroup('alice', ['bob']);
  const alice = stack.token('alice');
  const bob = stack.token('bob');
  const mallory = stack.token('mallory');
  const rowCount = async () =>
    Number(
      (
        await stack.db
          .selectFrom('files')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  await t.test('1. uploaded through one gateway, downloaded through another: bytes and metadata match', async (t) => {
    const bytes = png(200_000);
    const up = await upload(gwA, room, alice, [{ filename: 'cat.png', type: 'application/octet-stream', data: bytes }]);
    t.equal(up.status, 201);
    const [file] = up.body.files;
    t.match(
      file,
      {
        chat_id: room,
        uploader_id: 'alice',
        name: 'cat.png',
        size: bytes.length,
        mime_type: 'image/png',
        sha256: sha256(bytes),
        url: `/api/files/${file.id}/download`,
      },
      'the type is sniffed, not taken from the declared one',
    );
    const down = await download(gwB, file.url, bob);
    t.equal(down.status, 200);
    t.ok(down.bytes.equals(bytes), 'the same bytes');
    t.equal(down.headers.get('content-type'), 'image/png');
    t.equal(down.headers.get('x-content-type-options'), 'nosniff');
    t.equal(down.headers.get('content-disposition'), 'inline; filename=cat.png');
    t.equal(down.headers.get('etag'), `"${sha256(bytes)}"`);
    const row = await stack.db.selectFrom('files').selectAll().where('id', '=', file.id).executeTakeFirstOrThrow();
    t.match(
      row,
      { room_id: room, uploader_id: 'alice', name: 'cat.png', size: bytes.length, mime_type: 'image/png', sha256: sha256(bytes) },
      'Postgres keeps the metadata',
    );
    t.match(row.storage_key, /^[0-9a-f-]{36}$/, 'stored under a generated name');
    t.ok(readFileSync(join(stack.uploadDir, row.storage_key.slice(0, 2), row.storage_key)).equals(bytes), 'in the shared directory');

    // Ranges, for audio and video seeking.
    const part = await download(gwA, file.url, bob, { range: 'bytes=1000-1999' });
    t.equal(part.status, 206);
    t.equal(part.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
    t.ok(part.bytes.equals(bytes.subarray(1000, 2000)), 'the asked range');
    const tail = await download(gwA, file.url, bob, { range: 'bytes=-10' });
    t.ok(tail.status === 206 && tail.bytes.equals(bytes.subarray(-10)), 'a suffix range');
    const beyond = await download(gwA, file.url, bob, { range: `bytes=${bytes.length}-` });
    t.equal(beyond.status, 416, 'a range past the end: 416');
    t.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`);
    t.equal((await download(gwA, file.url, bob, { 'if-none-match': `"${sha256(bytes)}"` })).status, 304, 'a cached copy is still good');
  });

  await t.test('2. limit+1 bytes is refused with 413 while memory stays flat; exactly the limit is accepted', async (t) => {
    const rows = await rowCount();
    const pid = gwA.child.proc.pid!;
    const before = peakRss(pid);
    const over = await upload(gwA, room, alice, [{ filename: 'big.mp4', data: Buffer.concat([MP4, Buffer.alloc(LIMIT + 1 - MP4.length)]) }]);
    t.match(
      over,
      { status: 413, body: { code: 'FILE_TOO_LARGE', message: `A file is at most ${LIMIT} bytes (${formatBytes(LIMIT)})` } },
      'the error says the limit',
    );
    const exact = await upload(gwA, room, alice, [{ filename: 'exact.mp4', data: Buffer.concat([MP4, Buffer.alloc(LIMIT - MP4.length)]) }]);
    t.match(exact, { status: 201, body: { files: [{ size: LIMIT, mime_type: 'video/mp4' }] } });
    const grew = peakRss(pid) - before;
    t.comment(`gateway peak RSS grew ${(grew / 1048576).toFixed(1)} MiB over two ${LIMIT / 1048576} MiB uploads`);
    t.ok(grew < LIMIT / 2, 'streamed, not buffered: the peak grew by less than half a file');
    t.equal(await rowCount(), rows + 1, 'one row: the refused file left none');
    t.equal(storedFiles(stack.uploadDir).length, rows + 1, 'and no file');
  });

  await t.test('3. hostile file names are stored safely and shown sanitised', async (t) => {
    const names: Array<[string, string]> = [
      ['../../etc/passwd', 'passwd'],
      ['..\\..\\win.ini', 'win.ini'],
      ['a.php%00.jpg', 'a.php%00.jpg'],
      ['a.php\u0000.jpg', 'a.php.jpg'],
      ['x.jpg.html', 'x.jpg.html'],
      ['\u202Egpj.exe', 'gpj.exe'],
      ['invoice\u202Efdp.scr', 'invoicefdp.scr'],
      [`${'n'.repeat(296)}.png`, `${'n'.repeat(251)}.png`],
      ['', 'file'],
      ['   ...  ', 'file'],
    ];
    for (const [raw, shown] of names) {
      const up = await upload(gwB, room, alice, [{ filename: raw, type: 'image/png', data: PNG }]);
      t.equal(up.status, 201, `${JSON.stringify(raw)} accepted`);
      const file = up.body.files[0];
      t.equal(file.name, shown, `${JSON.stringify(raw).slice(0, 40)} shown as ${shown.slice(0, 40)}`);
      const down = await download(gwA, file.url, alice);
      t.match(
        down.headers.get('content-disposition'),
        /^inline; filename=("[\x20-\x7e]*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)(; filename\*=UTF-8''[A-Za-z0-9%!#$&+.^_`|~-]+)?$/,
        'the header carries it encoded',
      );
    }
    const files = storedFiles(stack.uploadDir);
    t.ok(files.length > 0 && files.every((f) => /^[0-9a-f]{2}\/[0-9a-f-]{36}$/.test(f)), 'every stored file has a generated name inside the upload directory');
  });

  await t.test('4. an SVG with script and HTML declared as image/png are never served inline', async (t) => {
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
    const html = Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>');
    t.match(
      await upload(gwA, room, alice, [{ filename: 'logo.svg', type: 'image/svg+xml', data: svg }]),
      { status: 415, body: { code: 'FILE_TYPE_NOT_ALLOWED' } },
      'by default an SVG is refused',
    );
    t.match(
      await upload(gwA, room, alice, [{ filename: 'photo.png', type: 'image/png', data: html }]),
      { status: 415, body: { code: 'FILE_TYPE_NOT_ALLOWED', message: /text\/html/ } },
      'HTML posing as a PNG is sniffed as HTML and refused',
    );
    // A deployment that allows them still never serves them inline.
    const lenient = await stack.addGateway('lenient', { UPLOAD_ALLOWED_TYPES: 'image/png,image/svg+xml,text/html,application/xml' });
    for (const [name, data, mime] of [
      ['logo.svg', svg, 'image/svg+xml'],
      ['photo.png', html, 'text/html'],
    ] as const) {
      const up = await upload(lenient, room, alice, [{ filename: name, type: 'image/png', data }]);
      t.match(up, { status: 201, body: { files: [{ mime_type: mime }] } }, `${name} stored as ${mime}`);
      const down = await download(gwB, up.body.files[0].url, bob);
      t.equal(down.headers.get('content-type'), mime, 'served with its sniffed type');
      t.match(down.headers.get('content-disposition'), /^attachment;/, 'as an attachment');
      t.equal(down.headers.get('x-content-type-options'), 'nosniff');
      t.match(down.headers.get('content-security-policy'), /sandbox/, 'sandboxed should a browser render it anyway');
    }
  });

  await t.test('5. non-members can neither upload, download nor list', async (t) => {
    const rows = await rowCount();
    t.match(await upload(gwA, room, mallory, [{ filename: 'x.png', data: PNG }]), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } }, 'upload: 403');
    t.match(
      await upload(gwA, 999_999, alice, [{ filename: 'x.png', data: PNG }]),
      { status: 403, body: { code: 'ROOM_NOT_MEMBER' } },
      'upload to no room: 403',
    );
    t.equal(await rowCount(), rows, 'nothing stored');
    const list = await stack.http(gwA, 'GET', `/api/chats/${room}/files`, mallory);
    t.match(list, { status: 403, body: { code: 'ROOM_NOT_MEMBER' } }, 'list: 403');
    const [file] = (await stack.http(gwA, 'GET', `/api/chats/${room}/files?limit=1`, alice)).body.files;
    const down = await download(gwA, file.url, mallory);
    t.equal(down.status, 404, 'download: 404, the file’s existence not confirmed');
    t.equal(JSON.parse(down.bytes.toString()).code, 'FILE_NOT_FOUND');
    t.equal((await download(gwA, file.url, '')).status, 401, 'without a token: 401');
  });

  await t.test('6. an upload cut off halfway leaves no orphan file and no metadata row', async (t) => {
    const rows = await rowCount();
    const { body, contentType } = multipart([{ filename: 'movie.mp4', data: Buffer.concat([MP4, randomBytes(8 * 1024 * 1024)]) }]);
    const socket = connect(Number(new URL(gwB.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/chats/${room}/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, body.length / 2));
    const tmp = join(stack.uploadDir, 'tmp');
    await eventually(() => readdirSync(tmp).length > 0, 10_000, 'the gateway is writing the file');
    socket.destroy();
    await eventually(() => readdirSync(tmp).length === 0, 10_000, 'the partial file is removed');
    t.equal(await rowCount(), rows, 'no metadata row');
    t.ok(await gwB.child.waitFor(/upload aborted by the client/, 10_000), 'the gateway logged the abort as such');
  });

  await t.test('7. concurrent uploads to one room all land; the list pages them newest first', async (t) => {
    const before = (await stack.http(gwA, 'GET', `/api/chats/${room}/files?limit=100`, bob)).body.files.length;
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => upload(i % 2 ? gwA : gwB, room, i % 3 ? alice : bob, [{ filename: `c${i}.png`, data: png(50_000 + i) }])),
    );
    t.same(
      results.map((r) => r.status),
      Array(24).fill(201),
      'every upload answered 201',
    );
    const ids = results.map((r) => r.body.files[0].id);
    const listed: any[] = [];
    let before_: string | null = null;
    do {
      const page: any = (await stack.http(gwB, 'GET', `/api/chats/${room}/files?limit=7${before_ ? `&before=${before_}` : ''}`, bob)).body;
      listed.push(...page.files);
      before_ = page.next_before;
    } while (before_);
    t.equal(listed.length, before + 24, 'each once across the pages');
    t.same(new Set(listed.map((f) => f.id)).size, listed.length, 'no file twice');
    t.ok(
      ids.every((id) => listed.some((f) => f.id === id)),
      'every upload listed',
    );
    t.ok(
      listed.every((f, i) => i === 0 || f.created_at <= listed[i - 1].created_at),
      'newest first',
    );
  });

  await t.test('many files in one request: all or nothing', async (t) => {
    const rows = await rowCount();
    const two = await upload(gwA, room, alice, [
      { filename: 'a.png', data: PNG },
      { filename: 'b.png', data: PNG },
    ]);
    t.match(two, { status: 201, body: { files: [{ name: 'a.png' }, { name: 'b.png' }] } });
    const four = await upload(
      gwA,
      room,
      alice,
      Array.from({ length: 4 }, (_, i) => ({ filename: `${i}.png`, data: PNG })),
    );
    t.match(four, { status: 413, body: { code: 'FILE_TOO_MANY', message: 'At most 3 files in one upload' } }, 'over UPLOAD_MAX_FILES (3): 413, saying so');
    const mixed = await upload(gwA, room, alice, [
      { filename: 'ok.png', data: PNG },
      { filename: 'evil.html', data: Buffer.from('<html><script>1</script></html>') },
    ]);
    t.match(mixed, { status: 415, body: { code: 'FILE_TYPE_NOT_ALLOWED' } });
    t.equal(await rowCount(), rows + 2, 'the refused requests stored nothing, not even their good files');
    t.match(
      await stack.http(gwA, 'POST', `/api/chats/${room}/files`, alice, { file: 'x' }),
      { status: 400, body: { code: 'UPLOAD_INVALID' } },
      'a JSON body: 400',
    );
    t.match(await upload(gwA, room, alice, [{ data: Buffer.from('just a field') }]), { status: 400, body: { code: 'UPLOAD_INVALID' } }, 'no file: 400');
  });
});

t.test('messages carry files; deleting or recalling one hides its file; a forward copies it', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  const [gwA, gwB] = stack.gateways as [Gateway, Gateway];
  const room = await stack.createGroup('alice', ['bob']);
  const other = await stack.createGroup('bob', ['carol']);
  const alice = stack.token('alice');
  const { client: bobWs } = await TestClient.open(gwB.wsUrl, stack.token('bob'));
  t.teardown(() => bobWs.close());
  const { client: aliceWs } = await TestClient.open(gwA.wsUrl, alice);
  t.teardown(() => aliceWs.close());
  const image = (await upload(gwA, room, alice, [{ filename: 'cat.png', data: PNG }])).body.files[0];
  const video = (await upload(gwA, room, alice, [{ filename: 'clip.mp4', data: MP4 }])).body.files[0];

  const send = (frame: Record<string, unknown>) => {
    const from = aliceWs.frames.length;
    aliceWs.send({ type: 'send_message', chat_id: room, content: '', ...frame } as never);
    return aliceWs.find((f) => (f.type === 'ack' || f.type === 'error') && f.client_id === frame.client_id, 10_000, from);
  };
  const ack = await send({ client_id: 'img-1', message_type: 'image', file_id: image.id });
  t.match(ack, { type: 'ack' }, 'an image message with its file and no caption');
  const live = await bobWs.waitForSeq(room, (ack as { seq: number }).seq);
  t.same(
    live.attachment,
    { id: image.id, name: 'cat.png', size: PNG.length, mime_type: 'image/png', url: image.url },
    'the message carries name, size, type and URL',
  );
  t.match(await send({ client_id: 'v-1', message_type: 'video', file_id: video.id, content: 'look' }), { type: 'ack' });
  t.match(
    await send({ client_id: 'bad-1', message_type: 'image', file_id: video.id }),
    { type: 'error', code: 'FILE_TYPE_MISMATCH' },
    'a video is not an image',
  );
  t.match(
    await send({ client_id: 'bad-2', message_type: 'text', file_id: image.id, content: 'x' }),
    { type: 'error', code: 'FILE_TYPE_MISMATCH' },
    'a text message carries no file',
  );
  t.match(await send({ client_id: 'bad-3', message_type: 'text' }), { type: 'error', code: 'MESSAGE_EMPTY' }, 'no content and no file');
  const elsewhere = (await upload(gwA, other, stack.token('bob'), [{ filename: 'b.png', data: PNG }])).body.files[0];
  t.match(
    await send({ client_id: 'bad-4', message_type: 'image', file_id: elsewhere.id }),
    { type: 'error', code: 'FILE_NOT_FOUND' },
    'a file of another room',
  );
  const rest = await stack.http(gwB, 'POST', `/api/chats/${room}/messages`, alice, {
    client_id: 'file-rest',
    message_type: 'file',
    content: 'the same, as a file',
    file_id: video.id,
  });
  t.equal(rest.status, 201, 'REST sends take file_id too');

  const history = (await stack.http(gwB, 'GET', `/api/chats/${room}/messages`, stack.token('bob'))).body.messages;
  t.match(
    history.find((m: any) => m.client_id === 'img-1'),
    { attachment: { id: image.id, url: image.url } },
    'history has it',
  );

  // Bob forwards the image to a room Alice is not in: Carol can download the copy.
  const fwd = await stack.http(gwB, 'POST', `/api/chats/${room}/messages/${(ack as { seq: number }).seq}/forward`, stack.token('bob'), {
    client_id: 'fw-1',
    chat_id: other,
  });
  t.equal(fwd.status, 201);
  const again = await stack.http(gwB, 'POST', `/api/chats/${room}/messages/${(ack as { seq: number }).seq}/forward`, stack.token('bob'), {
    client_id: 'fw-1',
    chat_id: other,
  });
  t.equal(again.status, 200, 'a retried forward is a duplicate');
  const copy = (await stack.http(gwA, 'GET', `/api/chats/${other}/messages`, stack.token('carol'))).body.messages.find(
    (m: any) => m.client_id === 'fw-1',
  ).attachment;
  t.not(copy.id, image.id, 'the forward carries its own file record');
  t.equal((await download(gwA, copy.url, stack.token('carol'))).status, 200, 'which the target room’s members download');
  t.equal(
    (await stack.http(gwA, 'GET', `/api/chats/${other}/files`, stack.token('carol'))).body.files.filter((f: any) => f.name === 'cat.png').length,
    1,
    'one record, though forwarded twice',
  );

  // Deleting the image message hides its file at once; the forward's copy stays.
  t.equal((await stack.http(gwA, 'DELETE', `/api/chats/${room}/messages/${(ack as { seq: number }).seq}`, alice)).status, 201);
  t.equal((await download(gwB, image.url, stack.token('bob'))).status, 404, 'the deleted message’s file is gone');
  t.notOk(
    (await stack.http(gwB, 'GET', `/api/chats/${room}/files`, alice)).body.files.some((f: any) => f.id === image.id),
    'and unlisted',
  );
  t.equal((await download(gwB, copy.url, stack.token('carol'))).status, 200, 'the forwarded copy is not');
  const tombstone = (await stack.http(gwB, 'GET', `/api/chats/${room}/messages`, alice)).body.messages.find((m: any) => m.client_id === 'img-1');
  t.ok(tombstone.deleted_at && tombstone.attachment === undefined, 'the tombstone carries no attachment');
  // Recalling the video message hides its file too, though another message carries it.
  const videoSeq = history.find((m: any) => m.client_id === 'v-1').seq;
  t.equal((await stack.http(gwA, 'POST', `/api/chats/${room}/messages/${videoSeq}/recall`, alice)).status, 201);
  t.equal((await download(gwA, video.url, alice)).status, 404, 'a recalled message’s file is gone');
  // The persister records the deletion with the file's: once persisted, the row stays hidden.
  await eventually(async () => (await stack.pendingCount()) === 0, 10_000, 'persisted');
  const hidden = await stack.db.selectFrom('files').select(['id', 'hidden_at']).where('id', 'in', [image.id, video.id]).execute();
  t.ok(hidden.length === 2 && hidden.every((f) => f.hidden_at !== null), 'both rows are hidden');
});
