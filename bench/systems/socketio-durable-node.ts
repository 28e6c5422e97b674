// One node of what a team would build on Socket.IO to get Parley's guarantees: the Redis Streams
// adapter (no packet lost across a Redis reconnect) with connection state recovery (a client that
// reconnects within two minutes gets what it missed), and every message inserted into Postgres before
// it is emitted and acknowledged, as seed 001 does with MongoDB. The sender's id for the message
// makes a resend idempotent (a duplicate is acknowledged, not stored or emitted again); the row's
// serial id is the message's order. Nothing is authenticated or validated, as in socketio-node.ts.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';

const db = new pg.Pool({ connectionString: process.env.DATABASE_URL!, max: 16 });
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  adapter: createAdapter(new Redis(process.env.REDIS_URL!)),
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000 },
});

io.on('connection', (socket) => {
  socket.on('join', async (rooms: string[]) => {
    await socket.join(rooms);
    socket.emit('joined');
  });
  socket.on('msg', async (room: string, clientId: string, body: string, ack?: (reply: { id?: string; error?: string }) => void) => {
    try {
      const inserted = await db.query<{ id: string }>(
        'insert into messages (room, client_id, body) values ($1, $2, $3) on conflict (client_id) do nothing returning id',
        [room, clientId, body],
      );
      const id = inserted.rows[0]?.id;
      if (id !== undefined) io.to(room).emit('msg', body);
      ack?.({ id: id ?? (await db.query<{ id: string }>('select id from messages where client_id = $1', [clientId])).rows[0]!.id });
    } catch (err) {
      ack?.({ error: String(err) });
    }
  });
});

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address() as { port: number };
  console.log(JSON.stringify({ msg: 'ready', port }));
});
