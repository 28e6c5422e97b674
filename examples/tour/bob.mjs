// Bob listens: every message of every chat he is in, live, each marked read as it arrives.
import WebSocket from 'ws'; // Node 20 has no global WebSocket; browsers and Node 22 need no import
import { ParleyClient } from '@parley/client';
import { devToken, wsUrl } from './dev-token.mjs';

const bob = new ParleyClient({ url: wsUrl, token: () => devToken('bob'), WebSocket });
bob.on('state', (state) => console.log(`[${state}]`));
bob.on('welcome', (w) => console.log(`bob is on gateway ${w.node_id}`));
bob.on('chat_added', (c) => console.log(`bob was added to chat ${c.chat_id}`));
bob.on('typing', (t) => console.log(`${t.user_id} is typing in chat ${t.chat_id}: ${t.state}`));
bob.on('message', (m) => {
  console.log(`chat ${m.chat_id} #${m.seq} ${m.sender_id}: ${m.content}`);
  bob.markRead(m.chat_id, m.seq);
});
bob.connect();
