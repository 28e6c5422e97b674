import t from 'tap';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, Stack, TestClient } from '@parley/testkit';

const SECRET = 'webhook-secret-0123456789';

interface Received {
  body: string;
  signature: string | undefined;
  delivery: string | undefined;
  status: number;
}

t.test('offline members of each message are posted to the webhook, signed; a failing endpoint is retried and delays no delivery', async (t) => {
  // The customer's push endpoint: records every post; while `hold` is set it keeps the next post waiting.
  const received: Received[] = [];
  let hold: { release: (status: number) => void; arrived: Promise<void> } | undefined;
  let arrived: () => void = () => undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const answer = (status: number) => {
        received.push({ body, signature: req.headers['x-parley-signature'] as string, delivery: req.headers['x-parley-delivery'] as string, status });
        res.writeHead(status).end();
      };
      const held = hold;
      if (held) {
        hold = undefined;
        held.release = answer;
        arrived();
      } else answer(204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;

  const stack = await Stack.start(t, {
    gateways: 2,
    persisters: 1,
    env: { WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_BATCH_MS: '50', PRESENCE_TTL_SECONDS: '3' },
  });
  const [gwA, gwB] = stack.gateways as [NonNullable<(typeof stack.gateways)[0]>, NonNullable<(typeof stack.gateways)[0]>];
  const token = Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => [u, stack.token(u)])) as Record<string, string>;
  const room = await stack.createGroup('alice', ['bob', 'carol', 'dave', 'erin']);
  t.match(await stack.http(gwB, 'PUT', `/api/chats/${room}/mute`, token.dave, { muted: true }), { status: 200, body: { chat_id: room, muted: true } });
  t.match(await stack.http(gwB, 'PUT', `/api/chats/${room}/mute`, stack.token('zed'), { muted: true }), { status: 403, body: { code: 'ROOM_NOT_MEMBER' } });
  const { client: alice } = await TestClient.open(gwA.wsUrl, token.alice!);
  const { client: bob } = await TestClient.open(gwB.wsUrl, token.bob!);
  t.teardown(() => Promise.all([alice.close(), bob.close()]));

  const notified = () =>
    received
      .filter((r) => r.status < 300)
      .flatMap((r) => (JSON.parse(r.body) as { notifications: Array<{ seq: number; recipients: string[] }> }).notifications);

  // Online (alice, the sender; bob on the other gateway) and muted (dave) are left out: carol and erin.
  t.match(await alice.sendMessage(room, '您的药已发货', 'm-1'), { type: 'ack', seq: 1 });
  await eventually(() => notified().some((n) => n.seq === 1), 20_000, 'the first notification');
  t.match(
    notified().find((n) => n.seq === 1),
    { chat_id: room, sender_id: 'alice', message_type: 'text', preview: '您的药已发货', recipients: ['carol', 'erin'] },
  );
  for (const r of received) t.equal(r.signature, `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`, 'signed: HMAC-SHA256 of the body');

  // The endpoint stalls, then fails: messages are delivered meanwhile, and the post is retried.
  const stalled = new Promise<void>((resolve) => (arrived = resolve));
  hold = { release: () => undefined, arrived: stalled };
  const held = hold;
  t.match(await alice.sendMessage(room, 'second', 'm-2'), { type: 'ack', seq: 2 });
  await stalled;
  t.match(await bob.waitForSeq(room, 2), { content: 'second' }, 'delivered while the webhook hangs');
  t.match(await alice.sendMessage(room, 'third', 'm-3'), { type: 'ack', seq: 3 });
  t.match(await bob.waitForSeq(room, 3), { content: 'third' }, 'and the next one too');
  held.release(500);
  await eventually(() => notified().some((n) => n.seq === 2) && notified().some((n) => n.seq === 3), 20_000, 'the failed post retried, the next sent');
  t.ok(
    received.some((r) => r.status === 500),
    'the endpoint failed once',
  );
  const failed = received.find((r) => r.status === 500)!;
  t.ok(
    received.some((r) => r.status < 300 && r.delivery === failed.delivery && r.body === failed.body),
    'the same delivery, retried',
  );
  for (const n of notified()) t.same(n.recipients, ['carol', 'erin'], `seq ${n.seq}: exactly the offline, unmuted members`);
});
