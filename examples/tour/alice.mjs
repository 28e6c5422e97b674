// Alice opens a direct chat with Bob, sends, resends, reads the history and waits for Bob to read it.
import WebSocket from 'ws';
import { ParleyClient } from '@parley/client';
import { devToken, wsUrl } from './dev-token.mjs';

const alice = new ParleyClient({ url: wsUrl, token: () => devToken('alice'), WebSocket });
alice.on('welcome', (w) => console.log(`alice is on gateway ${w.node_id}`));
alice.connect();
// Typing goes over the socket: wait until it is open (sends, unlike typing, wait by themselves).
await new Promise((resolve) => alice.on('welcome', resolve));

// The direct chat of Alice and Bob: the same room whichever of them asks.
const chat = await alice.request('POST', '/api/chats', { type: 'direct', user_id: 'bob' });
const seen = new Promise((resolve) => alice.on('read_receipt', (r) => r.user_id === 'bob' && resolve(r.seq)));

alice.typing(chat.id, 'start');
const ack = await alice.send(chat.id, 'hello bob'); // resolves once the message is durable
console.log(`sent to chat ${chat.id} as #${ack.seq}`);

// A resend with the same client_id (after a timeout, say) is answered with the original ack.
const again = await alice.send(chat.id, 'hello bob', { clientId: ack.client_id });
console.log(`resent: #${again.seq}, duplicate: ${again.duplicate}`);

const page = await alice.history(chat.id, { limit: 10 }); // newest first
for (const m of page.messages.reverse()) console.log(`history #${m.seq} ${m.sender_id}: ${m.content}`);

console.log(`bob has read up to #${await seen}`);
alice.close();
