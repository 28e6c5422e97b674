// The floor of this design: a bare ws relay through Redis pub/sub, one channel per room. No auth,
// no validation, no persistence. Each event is framed once per node, and each socket's writes are
// corked until the end of the event-loop turn.
import { Redis } from 'ioredis';
import * as wsModule from 'ws';
import { WebSocketServer, type WebSocket } from 'ws';

// ws frames a message with Sender.frame; its type declarations leave it out.
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

const pub = new Redis(process.env.REDIS_URL!);
const sub = pub.duplicate();
const rooms = new Map<string, Set<WebSocket>>();
const subscribed = new Map<string, Promise<unknown>>();
const corked = new Set<{ cork(): void; uncork(): void }>();

function flush() {
  for (const s of corked) s.uncork();
  corked.clear();
}

sub.on('messageBuffer', (channel: Buffer, payload: Buffer) => {
  const sockets = rooms.get(channel.toString());
  if (!sockets) return;
  // One frame for every socket of the room on this node.
  const frame = Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false });
  for (const ws of sockets) {
    const raw = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    if (!corked.has(raw)) {
      if (corked.size === 0) setImmediate(flush);
      raw.cork();
      corked.add(raw);
    }
    for (const part of frame) raw.write(part);
  }
});

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('connection', (ws) => {
  const mine: string[] = [];
  const onFrame = async (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as { t: 'join'; rooms: string[] } | { t: 'msg'; room: string; body: string };
    if (frame.t === 'join') {
      for (const room of frame.rooms) {
        if (!rooms.has(room)) {
          rooms.set(room, new Set());
          subscribed.set(room, sub.subscribe(room));
        }
        rooms.get(room)!.add(ws);
        mine.push(room);
        await subscribed.get(room);
      }
      ws.send('{"t":"joined"}');
    } else {
      void pub.publish(frame.room, JSON.stringify({ room: frame.room, body: frame.body }));
    }
  };
  ws.on('message', (data) => void onFrame(data as Buffer));
  ws.on('close', () => {
    for (const room of mine) rooms.get(room)?.delete(ws);
  });
});
wss.on('listening', () => console.log(JSON.stringify({ msg: 'ready', port: (wss.address() as { port: number }).port })));
