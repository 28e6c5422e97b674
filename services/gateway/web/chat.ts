// The /chat demo page: a small chat client on @parley/client. Every string from the server is
// written with textContent, never as HTML.
import { ParleyClient, type ConnectionState } from '@parley/client';
import type { Chat, ChatDetail, Message, UnreadCount } from '@parley/protocol';

interface Room {
  id: number;
  type: 'direct' | 'group';
  title: string;
  peer: string | undefined;
  head: number;
  read: number;
  /** When the room last had a message (or was created): the list's order. */
  activity: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

/** Runs an async event handler; what it throws is shown in the banner, not left unhandled. */
const handled =
  <E extends Event>(handler: (event: E) => Promise<void>) =>
  (event: E) => {
    handler(event).catch((err: unknown) => {
      $('banner').hidden = false;
      $('banner').textContent = err instanceof Error ? err.message : 'Something went wrong';
    });
  };

/** A form's text field, trimmed ('' if it has none). */
const field = (form: HTMLFormElement, name: string) => {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
};

let me = '';
let client: ParleyClient;
const rooms = new Map<number, Room>();
const presence = new Map<string, string>();
let active: number | undefined;
/** Seqs of the active room's rendered messages, oldest first, for paging back. */
let oldestSeq = 0;
let loadingOlder = false;
const typing = new Map<string, number>();
const receipts = new Map<string, number>();

/** A development token for the demo user (a real deployment's page asks its own backend). */
async function devToken(user: string, name: string): Promise<string> {
  const res = await fetch('/dev/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: user, ...(name ? { name } : {}) }),
  });
  const body = (await res.json()) as { token?: string; message?: string };
  if (!res.ok || !body.token) throw new Error(body.message ?? `Sign-in failed (${res.status})`);
  return body.token;
}

$('signin-form').addEventListener(
  'submit',
  handled(async (event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const user = field(form, 'user');
    const name = field(form, 'name');
    try {
      await devToken(user, name);
    } catch (err) {
      $('signin-error').textContent = (err as Error).message;
      return;
    }
    start(user, name || user, () => devToken(user, name));
  }),
);

function start(user: string, name: string, token: () => Promise<string>) {
  me = user;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = name;
  // The SDK asks for a fresh token before each connect and before the connection's token expires.
  client = new ParleyClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, token });
  client.on('state', showState);
  client.on('welcome', () => void loadRooms());
  client.on('chat_added', () => void loadRooms());
  client.on('message', onMessage);
  client.on('message_edited', () => active !== undefined && void openRoom(active));
  client.on('message_deleted', () => active !== undefined && void openRoom(active));
  client.on('read_state', (r) => {
    const room = rooms.get(r.chat_id);
    if (room) room.read = Math.max(room.read, r.last_read_seq);
    renderRooms();
  });
  client.on('read_receipt', (r) => {
    if (r.chat_id !== active || r.user_id === me) return;
    receipts.set(r.user_id, Math.max(receipts.get(r.user_id) ?? 0, r.seq));
    renderReceipts();
  });
  client.on('presence', (p) => {
    for (const u of p.users) presence.set(u.user_id, u.state);
    renderRooms();
  });
  client.on('typing', (t) => {
    if (t.chat_id !== active || t.user_id === me) return;
    if (t.state === 'start') typing.set(t.user_id, Date.now() + t.expires_in_ms);
    else typing.delete(t.user_id);
    renderTyping();
  });
  client.connect();
  setInterval(renderTyping, 1000);
  document.addEventListener('visibilitychange', () => client.setPresence(document.hidden ? 'away' : 'online'));
}

function showState(state: ConnectionState) {
  const badge = $('conn');
  badge.dataset.state = state;
  badge.textContent = state;
  const banner = $('banner');
  banner.hidden = state === 'open';
  banner.textContent =
    state === 'polling'
      ? 'Live connection unavailable: checking for messages every few seconds.'
      : state === 'open'
        ? ''
        : 'Reconnecting… nothing will be missed.';
}

async function loadRooms() {
  const [{ chats }, unread, visible] = await Promise.all([
    client.request<{ chats: Chat[] }>('GET', '/api/chats?limit=100'),
    client.request<UnreadCount>('GET', '/api/unread-count'),
    client.request<{ chats: Chat[] }>('GET', '/api/chats?scope=visible&limit=100'),
  ]);
  const reads = new Map(unread.chats.map((c) => [c.chat_id, c.last_read_seq]));
  for (const chat of chats) {
    const known = rooms.get(chat.id);
    let peer = known?.peer;
    if (chat.type === 'direct' && !peer) {
      const detail = await client.request<ChatDetail>('GET', `/api/chats/${chat.id}`);
      peer = detail.members.find((m) => m.user_id !== me)?.user_id;
    }
    const activity = [known?.activity, chat.last_message?.created_at, chat.created_at]
      .filter((a): a is string => a !== undefined)
      .sort()
      .at(-1)!;
    rooms.set(chat.id, {
      id: chat.id,
      type: chat.type,
      title: chat.name ?? peer ?? `Room ${chat.id}`,
      peer,
      head: Math.max(chat.head_seq, known?.head ?? 0),
      read: reads.get(chat.id) ?? 0,
      activity,
    });
  }
  const people = await client.request<{ users: Array<{ user_id: string; state: string }> }>('GET', '/api/users');
  for (const u of people.users) presence.set(u.user_id, u.state);
  renderRooms();
  const discover = $('public-rooms');
  discover.replaceChildren(
    ...visible.chats
      .filter((c) => !c.is_member)
      .map((c) => {
        const li = el('li');
        li.append(el('span', 'name', c.name ?? `Room ${c.id}`), el('span', 'muted', `${c.member_count} members · join`));
        li.addEventListener(
          'click',
          handled(async () => {
            await client.request('POST', `/api/chats/${c.id}/join`);
            await loadRooms();
            void openRoom(c.id);
          }),
        );
        return li;
      }),
  );
}

function renderRooms() {
  $('rooms').replaceChildren(
    ...[...rooms.values()]
      .sort((a, b) => b.activity.localeCompare(a.activity))
      .map((room) => {
        const li = el('li');
        li.dataset.room = String(room.id);
        if (room.id === active) li.classList.add('active');
        const dot = el('span', 'dot');
        dot.dataset.state = room.peer ? (presence.get(room.peer) ?? 'offline') : 'group';
        if (!room.peer) dot.style.visibility = 'hidden';
        li.append(dot, el('span', 'name', room.title));
        const unread = room.head - room.read;
        if (unread > 0 && room.id !== active) li.append(el('span', 'badge', String(unread)));
        li.addEventListener('click', () => void openRoom(room.id));
        return li;
      }),
  );
}

async function openRoom(id: number) {
  active = id;
  typing.clear();
  receipts.clear();
  const room = rooms.get(id);
  $('room-title').textContent = room?.title ?? `Room ${id}`;
  $('room-sub').textContent = room?.type === 'direct' ? 'direct chat' : 'group';
  $('composer').hidden = false;
  const page = await client.history(id, { limit: 50 });
  const list = $('messages');
  list.replaceChildren(...[...page.messages].reverse().map(messageItem));
  oldestSeq = page.next_before ?? 1;
  list.scrollTop = list.scrollHeight;
  markRead();
  renderRooms();
  renderTyping();
}

function messageItem(m: Message): HTMLLIElement {
  const li = el('li');
  li.dataset.seq = String(m.seq);
  if (m.message_type === 'system') {
    li.className = 'system';
    li.textContent = m.content;
    return li;
  }
  if (m.sender_id === me) li.classList.add('mine');
  else li.append(el('span', 'who', m.sender_id ?? ''));
  if (m.deleted_at) li.classList.add('deleted');
  if (m.attachment) li.append(attachmentItem(m.attachment));
  if (m.deleted_at || m.content) li.append(el('span', 'body', m.deleted_at ? (m.recalled ? 'Message recalled' : 'Message deleted') : m.content));
  li.append(el('span', 'meta', `${new Date(m.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}${m.edited_at ? ' · edited' : ''}`));
  return li;
}

/**
 * A message's file: fetched with the SDK (the token never goes into a URL) into a blob URL; an
 * image is shown, anything else is a link that saves it under its name.
 */
function attachmentItem(file: NonNullable<Message['attachment']>): HTMLElement {
  const size = file.size < 1024 * 1024 ? `${Math.ceil(file.size / 1024)} KB` : `${(file.size / 1048576).toFixed(1)} MB`;
  const link = el('a', 'file', `↓ ${file.name} · ${size}`);
  link.href = '#';
  const blob = client.download(file).then((b) => URL.createObjectURL(b));
  if (file.mime_type.startsWith('image/')) {
    const img = el('img', 'picture');
    img.alt = file.name;
    void blob.then(
      (url) => (img.src = url),
      () => (img.alt = `${file.name} (unavailable)`),
    );
    return img;
  }
  void blob.then(
    (url) => {
      link.href = url;
      link.download = file.name;
    },
    () => link.classList.add('unavailable'),
  );
  return link;
}

function onMessage(m: Message & { type: 'message' }) {
  const room = rooms.get(m.chat_id);
  if (!room) return void loadRooms();
  room.head = Math.max(room.head, m.seq);
  if (m.created_at > room.activity) room.activity = m.created_at;
  if (m.sender_id === me) room.read = Math.max(room.read, m.seq);
  if (m.chat_id === active) {
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(messageItem(m));
    if (atBottom || m.sender_id === me) list.scrollTop = list.scrollHeight;
    if (m.sender_id) typing.delete(m.sender_id);
    markRead();
    renderTyping();
    renderReceipts();
  }
  renderRooms();
}

function markRead() {
  if (active === undefined || document.hidden) return;
  const room = rooms.get(active);
  if (room && room.head > room.read) client.markRead(active);
}

function renderTyping() {
  const now = Date.now();
  const who = [...typing].filter(([, until]) => until > now).map(([user]) => user);
  $('typing').textContent = who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`;
}

/** "Seen by …" under my newest message that each reader has reached. */
function renderReceipts() {
  const list = $('messages');
  for (const old of list.querySelectorAll('.seen')) old.remove();
  const mine = [...list.querySelectorAll<HTMLLIElement>('li.mine')];
  for (const [user, seq] of receipts) {
    const item = mine.filter((li) => Number(li.dataset.seq) <= seq).at(-1);
    if (item) item.append(el('span', 'meta seen', `Seen by ${user}`));
  }
}

$('messages').addEventListener(
  'scroll',
  handled(async () => {
    const list = $('messages');
    if (list.scrollTop > 40 || loadingOlder || active === undefined || oldestSeq <= 1) return;
    loadingOlder = true;
    try {
      const page = await client.history(active, { before: oldestSeq, limit: 50 });
      if (page.messages.length > 0) {
        const height = list.scrollHeight;
        list.prepend(...[...page.messages].reverse().map(messageItem));
        list.scrollTop += list.scrollHeight - height;
      }
      // The page's cursor: a window of only edits lists no message, and the next one may.
      oldestSeq = page.next_before ?? 1;
    } finally {
      loadingOlder = false;
    }
  }),
);

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('text');
  const text = input.value.trim();
  if (!text || active === undefined) return;
  input.value = '';
  client.typing(active, 'stop');
  client.send(active, text).catch((err: Error) => {
    $('banner').hidden = false;
    $('banner').textContent = `Not sent: ${err.message}`;
  });
});
$('text').addEventListener('input', () => active !== undefined && client.typing(active, 'start'));

$('attach').addEventListener('click', () => $<HTMLInputElement>('file').click());
$('file').addEventListener(
  'change',
  handled(async () => {
    const input = $<HTMLInputElement>('file');
    const files = [...(input.files ?? [])];
    input.value = '';
    if (active === undefined) return;
    for (const file of files) {
      try {
        await client.sendFile(active, file, file.name);
      } catch (err) {
        $('banner').hidden = false;
        $('banner').textContent = `${file.name} not sent: ${(err as Error).message}`;
      }
    }
  }),
);

$('new-direct').addEventListener(
  'submit',
  handled(async (event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const user = field(form, 'user');
    const chat = await client.request<Chat>('POST', '/api/chats', { type: 'direct', user_id: user });
    form.reset();
    await loadRooms();
    void openRoom(chat.id);
  }),
);

$('new-group').addEventListener(
  'submit',
  handled(async (event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const name = field(form, 'name');
    const chat = await client.request<Chat>('POST', '/api/chats', { type: 'group', name });
    form.reset();
    await loadRooms();
    void openRoom(chat.id);
  }),
);

document.addEventListener('visibilitychange', markRead);
