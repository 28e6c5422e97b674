import { createHook } from 'node:async_hooks';
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ParleyClient, type SocketLike } from '@parley/client';
// The SDK's tests of logic talk to in-process gateways; those that kill or freeze one, to processes.
import { inProcessGateway } from '../../../services/gateway/test/in-process.js';
import { eventually, Stack } from '@parley/testkit';

type Gateway = NonNullable<Awaited<ReturnType<typeof Stack.start>>['gateways'][0]>;

/** A client of `user` that connects to the first gateway still alive, as a load balancer would. */
function clientOf(stack: Awaited<ReturnType<typeof Stack.start>>, user: string, alive: () => Array<Pick<Gateway, 'wsUrl'>>) {
  const client = new ParleyClient({
    url: () => alive()[0]!.wsUrl,
    token: () => stack.token(user),
    WebSocket: WebSocket,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
  });
  const seen: Array<{ chat: number; seq: number; type: string }> = [];
  for (const type of ['message', 'message_edited', 'message_deleted'] as const) client.on(type, (f) => seen.push({ chat: f.chat_id, seq: f.seq, type }));
  const states: string[] = [];
  client.on('state', (s) => states.push(s));
  return { client, seen, states };
}

t.test('SIGKILL of the client’s gateway while three others send: every message once, in seq order', async (t) => {
  const stack = await Stack.start(t, { gateways: 3, persisters: 1 });
  const [gwA, gwB, gwC] = stack.gateways as [Gateway, Gateway, Gateway];
  const dead = new Set<Gateway>();
  const alive = () => [gwA, gwB, gwC].filter((g) => !dead.has(g));
  const room = await stack.createGroup('reader', ['s1', 's2', 's3']);
  const { client, seen, states } = clientOf(stack, 'reader', alive);
  t.teardown(() => client.close());
  const opened = new Promise<void>((resolve) => client.on('welcome', () => resolve()));
  client.connect();
  await opened;

  const PER_SENDER = 40;
  let sent = 0;
  let killed: Promise<unknown> | undefined;
  const senders = ['s1', 's2', 's3'].map(async (sender, i) => {
    for (let k = 0; k < PER_SENDER; k++) {
      const gw = i === 0 ? gwB : gwC;
      const res = await stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token(sender), {
        client_id: `${sender}-${k}`,
        message_type: 'text',
        content: `${sender} ${k}`,
      });
      if (res.status !== 201) throw new Error(`send failed: ${res.status}`);
      if (++sent === 30) {
        dead.add(gwA);
        killed = gwA.child.kill('SIGKILL');
      }
    }
  });
  await Promise.all(senders);
  await killed;
  const total = 3 * PER_SENDER;
  await eventually(() => seen.length >= total, 30_000, 'the client caught up');
  t.same(
    seen.map((e) => e.seq),
    Array.from({ length: total }, (_, i) => i + 1),
    'every message exactly once, in seq order',
  );
  t.ok(states.includes('reconnecting'), `the connection state showed the outage: ${states.join(' → ')}`);
  t.equal(client.state, 'open');
});

t.test('resuming past the replay maximum: the SDK pages history and ends with every message', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1, env: { RESUME_MAX_EVENTS: '20' } });
  const gw = await inProcessGateway(t, stack);
  const room = await stack.createGroup('writer', ['reader'], gw);
  const send = (k: number) =>
    stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token('writer'), { client_id: `w-${k}`, message_type: 'text', content: `m ${k}` });
  for (let k = 1; k <= 5; k++) await send(k);
  // The application saved position 5 last time; 245 more came while it was away (the replay maximum is 20).
  for (let k = 6; k <= 250; k++) await send(k);
  const client = new ParleyClient({
    url: gw.wsUrl,
    token: stack.token('reader'),
    WebSocket: WebSocket,
    resume: { [room]: 5 },
    historyPageSize: 40,
  });
  t.teardown(() => client.close());
  const seqs: number[] = [];
  client.on('message', (m) => seqs.push(m.seq));
  client.connect();
  await eventually(() => seqs.length >= 245, 30_000, 'caught up from history');
  // Live messages after the catch-up follow on.
  await send(251);
  await eventually(() => seqs.includes(251), 20_000, 'live again');
  t.same(
    seqs,
    Array.from({ length: 246 }, (_, i) => i + 6),
    'every message after the saved position, once, in order',
  );
  t.equal(client.positions()[room], 251);
});

t.test('a send in flight when the connection drops is acked once after the reconnect, and stored once', async (t) => {
  const stack = await Stack.start(t, { gateways: 2, persisters: 1 });
  const [gwA, gwB] = stack.gateways as [Gateway, Gateway];
  const dead = new Set<Gateway>();
  const alive = () => [gwA, gwB].filter((g) => !dead.has(g));
  const room = await stack.createGroup('alice', ['bob']);
  const { client } = clientOf(stack, 'alice', alive);
  t.teardown(() => client.close());
  const opened = new Promise<void>((resolve) => client.on('welcome', () => resolve()));
  client.connect();
  await opened;

  // Freeze the gateway, so that the frame is written but not handled, then kill it.
  gwA.child.proc.kill('SIGSTOP');
  let acks = 0;
  const acked = client.send(room, 'in flight', { clientId: 'flight-1' }).then((ack) => {
    acks++;
    return ack;
  });
  dead.add(gwA);
  await gwA.child.kill('SIGKILL');
  const ack = await acked;
  t.match(ack, { chat_id: room, client_id: 'flight-1', seq: 1 }, 'acked after the reconnect');
  const more = await client.send(room, 'next', { clientId: 'flight-2' });
  t.equal(more.seq, 2);
  t.equal(acks, 1, 'the promise settled once');
  await eventually(async () => (await stack.db.selectFrom('messages').select('seq').where('room_id', '=', room).execute()).length === 2, 20_000, 'persisted');
  const rows = await stack.db.selectFrom('messages').select(['seq', 'client_id']).where('room_id', '=', room).orderBy('seq').execute();
  t.same(
    rows.map((r) => r.client_id),
    ['flight-1', 'flight-2'],
    'one copy stored',
  );

  // A refused send rejects with the server's code.
  await t.rejects(client.send(999_999, 'nowhere'), { code: 'ROOM_NOT_MEMBER' });
});

t.test('sends past the rate limit are sent again after the wait the server names, all of them, in order', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0, env: { MESSAGE_RATE_BURST: '3', MESSAGE_RATE_PER_SECOND: '40' } });
  const gw = await inProcessGateway(t, stack);
  const room = await stack.createGroup('alice', ['bob'], gw);
  const { client } = clientOf(stack, 'alice', () => [gw]);
  t.teardown(() => client.close());
  const opened = new Promise<void>((resolve) => client.on('welcome', () => resolve()));
  client.connect();
  await opened;
  const acks = await Promise.all(Array.from({ length: 12 }, (_, i) => client.send(room, `burst ${i}`, { clientId: `burst-${i}` })));
  t.same(
    acks.map((a) => a.seq),
    Array.from({ length: 12 }, (_, i) => i + 1),
    'every send acked, in the order sent',
  );
  const page = await client.history(room, { limit: 50 });
  t.same(
    page.messages.map((m) => m.content).reverse(),
    Array.from({ length: 12 }, (_, i) => `burst ${i}`),
    'and stored once each',
  );
});

t.test('sends refused while Redis does not answer are sent again after the wait, and stored once each, in order', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  // Only the send deadline answers while Redis is paused: its commands wait far longer.
  const gw = await inProcessGateway(t, stack, 'gateway', { SEND_TIMEOUT_MS: '500', REDIS_COMMAND_TIMEOUT_MS: '60000' });
  const room = await stack.createGroup('alice', ['bob'], gw);
  const { client } = clientOf(stack, 'alice', () => [gw]);
  t.teardown(() => client.close());
  const retrying: string[] = [];
  client.on('send_retrying', (r) => retrying.push(`${r.client_id} ${r.code} ${r.retry_after_ms}`));
  const opened = new Promise<void>((resolve) => client.on('welcome', () => resolve()));
  client.connect();
  await opened;

  const redisPid = stack.redisServer.child.pid;
  process.kill(redisPid, 'SIGSTOP');
  t.teardown(() => process.kill(redisPid, 'SIGCONT'));
  const ids = ['held-0', 'held-1', 'held-2'];
  const sends = ids.map((id) => client.send(room, id, { clientId: id }));
  await eventually(() => retrying.length >= 3, 10_000, 'the three sends refused for now');
  t.same(
    retrying.slice(0, 3).sort(),
    ids.map((id) => `${id} SERVICE_UNAVAILABLE 1000`),
    'send_retrying for each, with the server’s wait',
  );
  process.kill(redisPid, 'SIGCONT');

  const acks = await Promise.all(sends);
  t.same(
    acks.map((a) => a.client_id),
    ids,
    'every send acked',
  );
  t.ok(acks[0]!.seq < acks[1]!.seq && acks[1]!.seq < acks[2]!.seq, `in the order sent (seqs ${acks.map((a) => a.seq).join(', ')})`);
  const page = await client.history(room, { limit: 50 });
  t.same(
    page.messages
      .map((m) => m.content)
      .filter((c) => ids.includes(c))
      .reverse(),
    ids,
    'and stored once each',
  );
});

t.test('when no WebSocket can be opened, the client polls history and sends over REST, and says so', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gw = await inProcessGateway(t, stack);
  // A proxy that refuses every upgrade.
  const blocker = createServer((_req, res) => res.writeHead(404).end());
  blocker.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n'));
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const room = await stack.createGroup('alice', ['bob'], gw);
  await stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token('bob'), { client_id: 'before', message_type: 'text', content: 'before' });

  const client = new ParleyClient({
    url: `ws://127.0.0.1:${(blocker.address() as AddressInfo).port}/ws`,
    apiUrl: gw.url,
    token: stack.token('alice'),
    WebSocket: WebSocket,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    pollIntervalMs: 100,
  });
  t.teardown(() => client.close());
  const states: string[] = [];
  client.on('state', (s) => states.push(s));
  const contents: string[] = [];
  client.on('message', (m) => contents.push(m.content));
  client.connect();
  await eventually(() => client.state === 'polling', 10_000, 'fell back to polling');
  await eventually(() => client.positions()[room] === 1, 10_000, 'the rooms are known, from their heads');

  await stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token('bob'), { client_id: 'b-1', message_type: 'text', content: 'are you there?' });
  await eventually(() => contents.includes('are you there?'), 10_000, 'a new message arrives by polling');
  const ack = await client.send(room, 'yes, over REST', { clientId: 'a-1' });
  t.match(ack, { chat_id: room, seq: 3, client_id: 'a-1' });
  await eventually(() => client.positions()[room] === 3, 10_000, 'and its own message comes back in order');
  t.same(contents, ['are you there?', 'yes, over REST'], 'each message once, in order, none from before the start');
  t.equal(client.state, 'polling', `the state says so: ${states.join(' → ')}`);
});

t.test('a token function keeps a connection up past its tokens’ expiry, without a reconnect', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const gw = await inProcessGateway(t, stack);
  const room = await stack.createGroup('writer', ['reader'], gw);
  const issued: number[] = [];
  const client = new ParleyClient({
    url: gw.wsUrl,
    // Tokens of two seconds (one to two, as exp counts whole seconds): refreshed at half their life.
    token: () => {
      const token = stack.token('reader', { expiresIn: 2 });
      issued.push(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp * 1000);
      return token;
    },
    WebSocket: WebSocket,
  });
  t.teardown(() => client.close());
  const states: string[] = [];
  client.on('state', (s) => states.push(s));
  let welcomes = 0;
  client.on('welcome', () => welcomes++);
  const contents: string[] = [];
  client.on('message', (m) => contents.push(m.content));
  client.connect();
  await eventually(() => issued.length >= 4 && Date.now() > issued[0]! + 1000, 15_000, 'tokens refreshed past the first one’s expiry');
  await stack.http(gw, 'POST', `/api/chats/${room}/messages`, stack.token('writer'), { client_id: 'late', message_type: 'text', content: 'still there?' });
  await eventually(() => contents.includes('still there?'), 10_000, 'a message after the first token expired arrives');
  t.match(await client.send(room, 'yes'), { seq: 2 }, 'and a send is acked');
  t.same(states, ['connecting', 'open'], 'the connection never dropped');
  t.equal(welcomes, 1, 'one welcome: no reconnect');

  // REST calls reuse the latest token; one refused as expired is retried once with a fresh one.
  const tokens = [stack.token('reader', { expiresIn: -5 }), stack.token('reader'), stack.token('reader')];
  let calls = 0;
  const rest = new ParleyClient({ url: gw.wsUrl, token: () => tokens[calls++]! });
  t.match(await rest.history(room), { messages: [{ content: 'yes' }, { content: 'still there?' }] }, 'an expired token is replaced, and the call goes through');
  await rest.history(room);
  t.equal(calls, 2, 'the fresh token is reused for the next call');
});

t.test('sendFile uploads, sends the message with its attachment, and download fetches the bytes', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 1 });
  const [gwA, gwB] = await Promise.all([inProcessGateway(t, stack, 'gatewayA'), inProcessGateway(t, stack, 'gatewayB')]);
  const room = await stack.createGroup('alice', ['bob'], gwA);
  const alice = new ParleyClient({ url: gwA.wsUrl, token: () => stack.token('alice'), WebSocket });
  const bob = new ParleyClient({ url: gwB.wsUrl, token: () => stack.token('bob'), WebSocket });
  t.teardown(() => (alice.close(), bob.close()));
  const received: Array<{ content: string; message_type: string; attachment?: { url: string; name: string; mime_type: string } }> = [];
  bob.on('message', (m) => received.push(m));
  const open = (c: ParleyClient) => new Promise<void>((resolve) => c.on('welcome', () => resolve()));
  const opened = Promise.all([open(alice), open(bob)]);
  alice.connect();
  bob.connect();
  await opened;
  // A 1x1 PNG.
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f6e4a90000000049454e44ae426082',
    'hex',
  );
  const sent = await alice.sendFile(room, new Blob([png]), 'dot.png', { caption: 'a dot' });
  t.match(sent, { seq: 1, file: { name: 'dot.png', mime_type: 'image/png', size: png.length } });
  await eventually(() => received.length === 1, 10_000, 'bob receives it');
  t.match(
    received[0],
    { content: 'a dot', message_type: 'image', attachment: { name: 'dot.png', mime_type: 'image/png', url: sent.file.url } },
    'an image message, by the sniffed type',
  );
  const bytes = Buffer.from(await (await bob.download(received[0]!.attachment!)).arrayBuffer());
  t.ok(bytes.equals(png), 'bob downloads the same bytes');
  await t.rejects(
    new ParleyClient({ url: gwA.wsUrl, token: stack.token('mallory') }).download(sent.file),
    { code: 'FILE_NOT_FOUND', status: 404 },
    'a non-member cannot',
  );
});

t.test('a client closed while its token is on its way opens no socket', async (t) => {
  let sockets = 0;
  class Counted extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets++;
      this.on('error', () => undefined);
    }
  }
  let release!: (token: string) => void;
  const client = new ParleyClient({ url: 'ws://127.0.0.1:9/ws', token: () => new Promise<string>((r) => (release = r)), WebSocket: Counted });
  client.connect(); // asks for its token at once
  client.close();
  release('a token that arrives after close()');
  // The open that awaited the token resumes in a microtask: by the next macrotask it has made its socket, or not.
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(sockets, 0, 'no socket was made for a closed client');
});

t.test('a closed client hears nothing more from its old socket, and keeps no timer', async (t) => {
  const made: Scripted[] = [];
  class Scripted implements SocketLike {
    readyState = 1;
    onopen: SocketLike['onopen'] = null;
    onmessage: SocketLike['onmessage'] = null;
    onclose: SocketLike['onclose'] = null;
    onerror: SocketLike['onerror'] = null;
    constructor() {
      made.push(this);
    }
    send(): void {}
    close(): void {}
  }
  // The timers made from here on that are still armed at the end (the process' count would include
  // timers of earlier tests, which may fire meanwhile).
  const armed = new Set<number>();
  const hook = createHook({
    init: (id, type) => void (type === 'Timeout' && armed.add(id)),
    destroy: (id) => void armed.delete(id),
  }).enable();
  t.teardown(() => void hook.disable());
  const client = new ParleyClient({ url: 'ws://127.0.0.1:9/ws', token: 'a token', WebSocket: Scripted, pingIntervalMs: 60_000 });
  const heard: string[] = [];
  client.on('presence', (f) => heard.push(f.users.map((u) => u.user_id).join()));
  client.connect();
  const socket = await eventually(() => made[0], 5_000, 'the socket made');
  const frame = (f: object) => socket.onmessage!({ data: JSON.stringify(f) });
  socket.onopen!({});
  frame({ type: 'welcome', user_id: 'alice', node_id: 'gw-1', chats: [], token_expires_at: new Date(Date.now() + 3_600_000).toISOString(), epoch: 'e' });
  frame({ type: 'presence', chat_id: 1, users: [{ user_id: 'bob', state: 'online', last_seen: null }] });
  client.close();
  // The server's frames sent before it saw the close still arrive (a presence batch, say).
  frame({ type: 'presence', chat_id: 1, users: [{ user_id: 'carol', state: 'online', last_seen: null }] });
  t.same(heard, ['bob'], 'the frame after close() is not handed to the application');
  await new Promise((resolve) => setImmediate(resolve)); // destroy hooks are emitted in a batch, after the current tick
  hook.disable();
  t.same([...armed], [], 'no heartbeat or refresh timer is left running');
});

/**
 * A `ws` socket behind a network the test can cut: once cut, nothing passes either way, the socket
 * still says it is open, and its close never ends (no close event), as on a network that is gone.
 */
function cuttableNetwork(t: Test) {
  const sockets: Array<{ ws: WebSocket; cut: boolean }> = [];
  t.teardown(() => sockets.forEach((s) => s.ws.terminate()));
  class OverNetwork implements SocketLike {
    onopen: SocketLike['onopen'] = null;
    onmessage: SocketLike['onmessage'] = null;
    onclose: SocketLike['onclose'] = null;
    onerror: SocketLike['onerror'] = null;
    private readonly link: { ws: WebSocket; cut: boolean };
    constructor(url: string) {
      const link = { ws: new WebSocket(url), cut: false };
      this.link = link;
      sockets.push(link);
      link.ws.onopen = (e) => link.cut || this.onopen?.(e);
      link.ws.onmessage = (e) => link.cut || this.onmessage?.(e);
      link.ws.onclose = (e) => link.cut || this.onclose?.(e);
      link.ws.onerror = (e) => link.cut || this.onerror?.(e);
    }
    get readyState(): number {
      return this.link.ws.readyState;
    }
    send(data: string): void {
      if (!this.link.cut) this.link.ws.send(data);
    }
    close(code?: number, reason?: string): void {
      if (!this.link.cut) this.link.ws.close(code, reason);
    }
  }
  return { OverNetwork, cut: () => sockets.forEach((s) => (s.cut = true)) };
}

t.test('a half-open connection (the network gone, no close event coming) is noticed in seconds, idle or on a send', async (t) => {
  const stack = await Stack.start(t, { gateways: 0, persisters: 0 });
  const gw = await inProcessGateway(t, stack);
  const room = await stack.createGroup('alice', ['bob'], gw);
  const connected = async (options: { pingIntervalMs: number; pongTimeoutMs: number; ackProbeMs?: number }) => {
    const network = cuttableNetwork(t);
    const client = new ParleyClient({
      url: gw.wsUrl,
      token: () => stack.token('alice'),
      WebSocket: network.OverNetwork,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      ...options,
    });
    t.teardown(() => client.close());
    const states: string[] = [];
    client.on('state', (s) => states.push(s));
    let welcomes = 0;
    client.on('welcome', () => welcomes++);
    client.connect();
    await eventually(() => welcomes === 1, 10_000, 'welcomed');
    return { client, network, states, welcomed: () => welcomes };
  };

  // Idle: the ping's pong never comes; the socket is dropped, not waited for, and a new one opens.
  const idle = await connected({ pingIntervalMs: 200, pongTimeoutMs: 300 });
  idle.network.cut();
  await eventually(() => idle.states.includes('reconnecting'), 10_000, 'an idle half-open connection taken for dead after a missed pong');
  await eventually(() => idle.welcomed() === 2, 10_000, 'connected again');

  // A send with nothing heard back for ackProbeMs pings at once, long before the next ping is due.
  const busy = await connected({ pingIntervalMs: 600_000, pongTimeoutMs: 300, ackProbeMs: 300 });
  busy.network.cut();
  let ack: Awaited<ReturnType<ParleyClient['send']>> | undefined;
  void busy.client.send(room, 'sent into a dead network', { clientId: 'half-open-1' }).then((a) => (ack = a));
  await eventually(() => ack, 15_000, 'the send acked on a new connection');
  t.same(busy.states.slice(-2), ['reconnecting', 'open'], 'the user is told (reconnecting), then connected again');
  t.match(ack, { chat_id: room, client_id: 'half-open-1', seq: 1 }, 'the send acked on the new connection');
});
