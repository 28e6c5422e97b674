import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { createGroupRoom, ensureUsers } from '@parley/db';
import pg from 'pg';
import { Child, Stack, startPostgres, startRedis, type PostgresServer } from '@parley/testkit';
import { nextLocalAddress } from './source-address.js';

/** A connected load-generator client: same cost for every system (plain `ws`, JSON text frames). */
export interface BenchClient {
  send(room: string, body: string): void;
  close(): void;
  /** Closes the socket; resolves once the server has answered the close handshake. */
  disconnect(): Promise<void>;
}

/** A BenchClient over an open socket, sending with `send`. */
function benchClient(ws: WebSocket, send: BenchClient['send']): BenchClient {
  return {
    send,
    close: () => ws.close(),
    disconnect: () =>
      new Promise((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

/** One system under test: its processes, its rooms, and a way to connect clients to a node. */
export interface SystemUnderTest {
  name: 'parley' | 'parley-cluster' | 'socketio' | 'socketio-durable' | 'floor';
  nodes: number;
  /** Gateways (or nodes): with Redis, the real-time path. */
  nodePids(): number[];
  redisPids(): number[];
  /** The Redis servers' ports on 127.0.0.1 (a cluster's masters and replicas). */
  redisPorts(): number[];
  /** Persister and Postgres (Parley), Postgres (the durable Socket.IO peer): the durable path. */
  backPids(): number[];
  /** Parley only: the event stream's length and the persisters' pending entries. */
  backlog?(): Promise<{ stream: number; pending: number }>;
  /** Parley only: its processes, as the test harness runs them. */
  stack?: Stack;
  /** Creates rooms with these members (user ids); returns the rooms' names in this system. */
  setupRooms(members: string[][]): Promise<string[]>;
  /** Connects a user to node `node`, in `rooms`; resolves once every later message will reach it. */
  connect(node: number, userId: string, rooms: string[], onMessage: (body: string) => void): Promise<BenchClient>;
  stop(): Promise<void>;
}

const systemScript = (name: string) => fileURLToPath(new URL(`../systems/${name}.ts`, import.meta.url));

/**
 * Opens a plain ws client socket from the next loopback source address, handling its frames from
 * the first (a server may speak first, in the same turn as the open), and resolves when `onFrame`
 * calls `ready`.
 */
function open(
  url: string,
  headers: Record<string, string>,
  onFrame: (ws: WebSocket, text: string, ready: () => void) => void,
  greeting?: string,
): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers, localAddress: nextLocalAddress() });
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => onFrame(ws, (data as Buffer).toString(), () => resolve(ws)));
    ws.once('open', () => greeting && ws.send(greeting));
    ws.once('error', reject);
  });
}

async function startNodes(script: string, count: number, env: Record<string, string>): Promise<Array<{ child: Child; port: number }>> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const child = new Child(`${script}-${i + 1}`, process.execPath, ['--import', 'tsx', systemScript(script)], { env: { ...process.env, ...env } });
      const line = await child.waitFor(/"msg":"ready"/);
      return { child, port: (JSON.parse(line) as { port: number }).port };
    }),
  );
}

/**
 * Parley: gateways, a persister, Redis and Postgres, as the test harness runs them (with the
 * persister's own timings, not the harness' short ones); on one Redis
 * server, or on a Redis Cluster of 3 masters with a replica each (`parley-cluster`).
 */
export async function startParley(nodes = 3, redis: 'standalone' | 'cluster' = 'standalone'): Promise<SystemUnderTest> {
  const cleanups: Array<() => unknown> = [];
  const stack = await Stack.start({ teardown: (fn) => cleanups.push(fn) }, { gateways: nodes, persisters: 1, redis, productionTimings: true });
  return {
    name: redis === 'cluster' ? 'parley-cluster' : 'parley',
    nodes,
    stack,
    nodePids: () => stack.gateways.map((g) => g.child.pid),
    redisPids: () => (redis === 'cluster' ? stack.redisCluster.nodes.map((n) => n.child.pid) : [stack.redisServer.child.pid]),
    redisPorts: () => (redis === 'cluster' ? stack.redisCluster.nodes.map((n) => n.port) : [stack.redisServer.port]),
    backPids: () => [...stack.persisters.map((p) => p.pid), stack.pgServer.child.pid],
    backlog: async () => ({ stream: await stack.streamLength(), pending: await stack.pendingCount() }),
    async setupRooms(members) {
      const ids = [];
      for (const m of members) {
        await ensureUsers(stack.db, m);
        ids.push((await createGroupRoom(stack.db, m[0]!, { name: 'bench', isPublic: false, memberIds: m })).id);
      }
      return ids.map(String);
    },
    async connect(node, userId, _rooms, onMessage) {
      const headers = { authorization: `Bearer ${stack.token(userId)}` };
      const ws = await open(
        stack.gateways[node]!.wsUrl,
        headers,
        (_ws, text, ready) => {
          const frame = JSON.parse(text) as { type: string; content?: string };
          if (frame.type === 'message') onMessage(frame.content!);
          else if (frame.type === 'welcome') ready();
        },
        '{"type":"hello"}',
      );
      let n = 0;
      return benchClient(ws, (room, body) =>
        ws.send(JSON.stringify({ type: 'send_message', client_id: `${userId}-${n++}`, chat_id: Number(room), message_type: 'text', content: body })),
      );
    },
    async stop() {
      for (const fn of cleanups.reverse()) await fn();
    },
  };
}

type NodeConnect = (port: number, rooms: string[], onMessage: (body: string) => void) => Promise<BenchClient>;

/** The durable peer's table: a serial id for order, the sender's id for idempotency, an index for a room's history. */
const durableSchema = `
  create table messages (id bigserial primary key, room text not null, client_id text not null unique, body text not null,
                         created_at timestamptz not null default now());
  create index messages_room on messages (room, id)`;

/**
 * A cluster of relay nodes (`bench/systems/<script>.ts`) sharing one Redis, and with `durable` one
 * Postgres holding `durableSchema`; rooms are just names.
 */
async function startRelayCluster(
  name: 'socketio' | 'socketio-durable' | 'floor',
  script: string,
  nodes: number,
  connect: NodeConnect,
  durable = false,
): Promise<SystemUnderTest> {
  const redis = await startRedis();
  let postgres: PostgresServer | undefined;
  const env: Record<string, string> = { REDIS_URL: redis.url };
  if (durable) {
    postgres = await startPostgres();
    const client = new pg.Client(postgres.url);
    await client.connect();
    await client.query(durableSchema);
    await client.end();
    env.DATABASE_URL = postgres.url;
  }
  const servers = await startNodes(script, nodes, env);
  return {
    name,
    nodes,
    nodePids: () => servers.map((s) => s.child.pid),
    redisPids: () => [redis.child.pid],
    redisPorts: () => [redis.port],
    backPids: () => (postgres ? [postgres.child.pid] : []),
    setupRooms: async (members) => members.map((_, i) => `room-${i}`),
    connect: (node, _userId, rooms, onMessage) => connect(servers[node]!.port, rooms, onMessage),
    async stop() {
      await Promise.all(servers.map((s) => s.child.kill('SIGKILL')));
      await redis.stop();
      await postgres?.stop();
    },
  };
}

/**
 * A Socket.IO v5 client over plain ws (Engine.IO v4): connects to namespace "/", joins `rooms`, hands
 * every `msg` event's body to `onMessage` (with connection state recovery the server appends the
 * packet's offset, which is ignored here).
 */
function socketIoClient(port: number, rooms: string[], onMessage: (body: string) => void): Promise<WebSocket> {
  return open(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {}, (ws, text, ready) => {
    if (text.startsWith('42')) {
      const [event, body] = JSON.parse(text.slice(2)) as [string, string];
      if (event === 'msg') onMessage(body);
      else if (event === 'joined') ready();
    } else if (text === '2')
      ws.send('3'); // Engine.IO ping
    else if (text.startsWith('0'))
      ws.send('40'); // Engine.IO open: connect to namespace "/"
    else if (text.startsWith('40')) ws.send(`42${JSON.stringify(['join', rooms])}`);
  });
}

/** Socket.IO with @socket.io/redis-adapter: broadcast only. */
export function startSocketIo(nodes = 3): Promise<SystemUnderTest> {
  return startRelayCluster('socketio', 'socketio-node', nodes, async (port, rooms, onMessage) => {
    const ws = await socketIoClient(port, rooms, onMessage);
    return benchClient(ws, (room, body) => ws.send(`42${JSON.stringify(['msg', room, body])}`));
  });
}

/**
 * The same guarantees on Socket.IO (`bench/systems/socketio-durable-node.ts`): the Redis Streams
 * adapter, connection state recovery, each message in Postgres before it is emitted and acknowledged.
 * Clients send with an acknowledgement and a client id, as Parley's do.
 */
export function startSocketIoDurable(nodes = 3): Promise<SystemUnderTest> {
  let clients = 0;
  return startRelayCluster(
    'socketio-durable',
    'socketio-durable-node',
    nodes,
    async (port, rooms, onMessage) => {
      const ws = await socketIoClient(port, rooms, onMessage);
      const me = clients++;
      let n = 0;
      return benchClient(ws, (room, body) => {
        const ack = n++;
        ws.send(`42${ack}${JSON.stringify(['msg', room, `${me}-${ack}`, body])}`);
      });
    },
    true,
  );
}

/** The floor: a bare ws relay through Redis pub/sub per room. */
export function startFloor(nodes = 3): Promise<SystemUnderTest> {
  return startRelayCluster('floor', 'floor-node', nodes, async (port, rooms, onMessage) => {
    const ws = await open(
      `ws://127.0.0.1:${port}`,
      {},
      (_ws, text, ready) => {
        const frame = JSON.parse(text) as { t?: string; body?: string };
        if (frame.t === 'joined') ready();
        else onMessage(frame.body!);
      },
      JSON.stringify({ t: 'join', rooms }),
    );
    return benchClient(ws, (room, body) => ws.send(JSON.stringify({ t: 'msg', room, body })));
  });
}
