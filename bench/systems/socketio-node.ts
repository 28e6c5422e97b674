// One Socket.IO node with the Redis adapter: the stack users would otherwise pick. Clients join
// rooms and broadcast to them; nothing is authenticated, validated or persisted.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';

const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, adapter: createAdapter(pub, sub) });

io.on('connection', (socket) => {
  socket.on('join', async (rooms: string[]) => {
    await socket.join(rooms);
    socket.emit('joined');
  });
  socket.on('msg', (room: string, body: string) => {
    io.to(room).emit('msg', body);
  });
});

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address() as { port: number };
  console.log(JSON.stringify({ msg: 'ready', port }));
});
