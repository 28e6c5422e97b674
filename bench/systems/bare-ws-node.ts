// A bare ws server holding connections and nothing else: the connection benchmark's baseline.
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', () => ws.send('{"type":"welcome"}')));
wss.on('listening', () => console.log(JSON.stringify({ msg: 'ready', port: (wss.address() as { port: number }).port })));
