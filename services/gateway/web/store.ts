// The /chat page's actions: they change the state (state.ts) from the SDK's events and the user's
// acts. The SDK is the only way the page talks to the server.
import { batch } from '@preact/signals';
import { ParleyClient, ParleyRequestError } from '@parley/client';
import type { Chat, ChatDetail, Message, Participant, UnreadCount, UserPresence } from '@parley/protocol';
import {
  activeId,
  activeRoom,
  attempt,
  banners,
  clearErrors,
  connection,
  directory,
  gateway,
  me,
  names,
  outgoing,
  presence,
  reason,
  rooms,
  roomTitle,
  say,
  thread,
  typing,
  withRoom,
  withThread,
  type OutgoingMessage,
  type Room,
} from './state.js';

export * from './state.js';

let client: ParleyClient;

/** The signed-in session, kept across reloads until its token expires (or sign-out). */
interface Session {
  user: string;
  name: string;
  token: string;
  expiresAt: string;
}
const SESSION_KEY = 'parley.session';
const roomKey = (user: string) => `parley.room.${user}`;

/** A development token for the demo user (a real deployment's page asks its own backend). */
export async function devToken(user: string, name: string): Promise<{ token: string; expires_at: string }> {
  const res = await fetch('/dev/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: user, ...(name ? { name } : {}) }),
  });
  const body = (await res.json()) as { token?: string; expires_at?: string; message?: string };
  if (!res.ok || !body.token || !body.expires_at) throw new Error(body.message ?? `Sign-in failed (${res.status})`);
  return { token: body.token, expires_at: body.expires_at };
}

export async function signIn(user: string, name: string): Promise<void> {
  const first = await devToken(user, name);
  start({ user, name: name || user, token: first.token, expiresAt: first.expires_at });
}

/** The session this browser kept, if its token has a minute left. */
export function resume(): void {
  let saved: Session | undefined;
  try {
    saved = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') as Session | undefined;
  } catch {
    saved = undefined;
  }
  if (saved && Date.parse(saved.expiresAt) - Date.now() > 60_000) start(saved);
  else localStorage.removeItem(SESSION_KEY);
}

export function signOut(): void {
  localStorage.removeItem(SESSION_KEY);
  client.close();
  batch(() => {
    me.value = undefined;
    rooms.value = new Map();
    activeId.value = undefined;
    thread.value = undefined;
    outgoing.value = new Map();
    banners.value = [];
    directory.value = [];
    gateway.value = '';
    // What this user's page learned of other people goes with them.
    names.value = new Map();
    presence.value = new Map();
    typing.value = new Map();
  });
  asked.clear();
}

function start(session: Session): void {
  const { user, name } = session;
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  me.value = { id: user, name };
  names.value = new Map(names.value).set(user, name);
  let current: Session = session;
  // The SDK asks for a fresh token before each connect and before the connection's token expires:
  // the kept one while it has a minute left, else a new one (kept in turn).
  const token = async () => {
    if (Date.parse(current.expiresAt) - Date.now() > 60_000) return current.token;
    const fresh = await devToken(user, name);
    current = { user, name, token: fresh.token, expiresAt: fresh.expires_at };
    if (me.value?.id === user) localStorage.setItem(SESSION_KEY, JSON.stringify(current));
    return current.token;
  };
  client = new ParleyClient({ url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, token });
  client.on('state', (state) => {
    connection.value = state;
    // Without a WebSocket there is no welcome: the rooms are loaded when the polling starts.
    if (state === 'polling') attempt(loadRooms);
  });
  client.on('welcome', (w) => {
    gateway.value = w.node_id;
    attempt(loadRooms);
  });
  client.on('chat_added', () => attempt(loadRooms));
  client.on('message', onMessage);
  client.on('message_edited', (e) => {
    bumpHead(e.chat_id, e.seq);
    patchMessage(e.chat_id, e.message_seq, (m) => ({ ...m, content: e.content, edited_at: e.created_at }));
  });
  client.on('message_deleted', (e) => {
    bumpHead(e.chat_id, e.seq);
    // Whose it was, the deletion does not say: if it may have been counted unread, the count is asked for again.
    if (e.message_seq > (rooms.value.get(e.chat_id)?.read ?? Infinity)) recountUnread();
    patchMessage(e.chat_id, e.message_seq, (m) => {
      const { attachment: _gone, ...rest } = m;
      return { ...rest, content: '', deleted_at: e.created_at, deleted_by: e.sender_id, recalled: e.recalled };
    });
  });
  client.on('read_state', (r) => readStateOf(r.chat_id, r.last_read_seq, r.unread));
  client.on('read_receipt', (r) => {
    if (r.user_id === me.value?.id) return;
    withThread(r.chat_id, (t) => ({ ...t, readBy: new Map(t.readBy).set(r.user_id, Math.max(t.readBy.get(r.user_id) ?? 0, r.seq)) }));
  });
  client.on('delivery_receipt', (r) => {
    if (r.user_id === me.value?.id) return;
    withThread(r.chat_id, (t) => ({ ...t, delivered: Math.max(t.delivered, r.seq) }));
  });
  client.on('presence', (p) => {
    const next = new Map(presence.value);
    for (const u of p.users) next.set(u.user_id, { state: u.state, last_seen: u.last_seen });
    presence.value = next;
  });
  client.on('typing', (t) => {
    if (t.chat_id !== activeId.value || t.user_id === me.value?.id) return;
    const next = new Map(typing.value);
    if (t.state === 'start') next.set(t.user_id, Date.now() + t.expires_in_ms);
    else next.delete(t.user_id);
    typing.value = next;
  });
  client.on('error', (e) => say(e.message));
  client.on('send_retrying', (r) => {
    const o = outgoing.value.get(r.client_id);
    if (o) outgoing.value = new Map(outgoing.value).set(r.client_id, { ...o, state: 'retrying', error: undefined });
  });
  client.connect();
}

document.addEventListener('visibilitychange', () => {
  if (!me.value) return;
  client.setPresence(document.hidden ? 'away' : 'online');
  markRead();
});

async function loadRooms(): Promise<void> {
  const [{ chats }, unread, people] = await Promise.all([
    client.request<{ chats: Chat[] }>('GET', '/api/chats?limit=100'),
    client.request<UnreadCount>('GET', '/api/unread-count'),
    client.request<{ users: Array<UserPresence & { name: string | null }> }>('GET', '/api/users'),
  ]);
  const reads = new Map(unread.chats.map((c) => [c.chat_id, c]));
  const next = new Map<number, Room>();
  for (const chat of chats) {
    const known = rooms.value.get(chat.id);
    let peer = known?.peer;
    if (chat.type === 'direct' && !peer) {
      const detail = await client.request<ChatDetail>('GET', `/api/chats/${chat.id}`);
      peer = detail.members.find((m) => m.user_id !== me.value?.id)?.user_id;
    }
    const activity = [known?.activity, chat.last_message?.created_at, chat.created_at]
      .filter((a): a is string => a !== undefined)
      .sort()
      .at(-1)!;
    next.set(chat.id, {
      id: chat.id,
      type: chat.type,
      name: chat.name,
      peer,
      head: Math.max(chat.head_seq, known?.head ?? 0),
      read: Math.max(reads.get(chat.id)?.last_read_seq ?? 0, known?.read ?? 0),
      unread: reads.get(chat.id)?.unread ?? 0,
      memberCount: chat.member_count,
      isAdmin: chat.is_admin,
      isPublic: chat.is_public,
      activity,
      last: known?.last && chat.last_message && known.last.created_at > chat.last_message.created_at ? known.last : (chat.last_message ?? known?.last),
    });
  }
  await resolveNames([...next.values()].map((r) => r.peer ?? null));
  batch(() => {
    // Events that came while this list was on its way moved heads and reads past what it says.
    for (const [id, room] of next) {
      const now = rooms.value.get(id);
      if (now)
        next.set(id, {
          ...room,
          head: Math.max(room.head, now.head),
          read: Math.max(room.read, now.read),
          unread: now.read > room.read ? now.unread : room.unread,
          activity: now.activity > room.activity ? now.activity : room.activity,
        });
    }
    rooms.value = next;
    const seen = new Map(names.value);
    const states = new Map(presence.value);
    for (const u of people.users) {
      if (u.name) seen.set(u.user_id, u.name);
      states.set(u.user_id, { state: u.state, last_seen: u.last_seen });
    }
    names.value = seen;
    presence.value = states;
  });
  // The page has every direct room up to its head now (in the list, or a badge): its sender sees it delivered.
  for (const room of next.values()) if (room.type === 'direct' && room.head > room.read) client.markReceived(room.id, room.head);
  // The open room may be gone (left on another device, or removed while away); after a reload, the room open before it.
  if (activeId.value !== undefined && !next.has(activeId.value)) closeRoom();
  const kept = Number(localStorage.getItem(roomKey(me.value!.id)));
  if (activeId.value === undefined && next.has(kept)) void openRoom(kept).catch((err: unknown) => say(reason(err)));
  await loadDirectory();
}

/** Public rooms I am not in: asked again whenever it is shown and when my rooms change. */
export async function loadDirectory(): Promise<void> {
  const { chats } = await client.request<{ chats: Chat[] }>('GET', '/api/chats?scope=visible&limit=100');
  directory.value = chats.filter((c) => !c.is_member);
}

/** Ids whose profile was asked for (or is known), so that each is asked once. */
const asked = new Set<string>();

/** Display names for the users the page shows: one call for every id not yet known. */
async function resolveNames(ids: Iterable<string | null>): Promise<void> {
  const wanted = [...new Set(ids)].filter((id): id is string => id !== null && !asked.has(id) && !names.value.has(id));
  for (let i = 0; i < wanted.length; i += 100) {
    const batchIds = wanted.slice(i, i + 100);
    for (const id of batchIds) asked.add(id);
    const { users } = await client.request<{ users: Array<{ user_id: string; name: string | null }> }>('POST', '/api/users/profiles', { user_ids: batchIds });
    const next = new Map(names.value);
    for (const u of users) if (u.name) next.set(u.user_id, u.name);
    names.value = next;
  }
}

let opening = 0;
/** How many seqs back from the head opening a room loads to find where its unread messages start. */
const UNREAD_REACH = 500;

/**
 * Opens a room: its header at once, its messages when they come. A room opened after it wins: the
 * answers for a room no longer open are dropped, so a header never sits over another room's messages.
 */
export async function openRoom(id: number): Promise<void> {
  const ticket = ++opening;
  localStorage.setItem(roomKey(me.value!.id), String(id));
  // An open conversation is a history entry of its own, so that Back (a phone's gesture too)
  // returns to the room list instead of leaving the page; switching rooms replaces it.
  if (openInHistory() === undefined) history.pushState({ room: id }, '');
  else history.replaceState({ room: id }, '');
  batch(() => {
    activeId.value = id;
    typing.value = new Map();
    thread.value = {
      roomId: id,
      loading: true,
      messages: [],
      olderCursor: 0,
      readBy: new Map(),
      delivered: 0,
      firstUnread: 0,
      unreadAbove: false,
      members: undefined,
      changedWhileLoading: [],
    };
  });
  let page, detail;
  try {
    [page, detail] = await Promise.all([client.history(id, { limit: 50 }), client.request<ChatDetail>('GET', `/api/chats/${id}`)]);
  } catch (err) {
    if (ticket !== opening) return;
    if (err instanceof ParleyRequestError && (err.code === 'ROOM_NOT_MEMBER' || err.code === 'ROOM_NOT_FOUND'))
      return forget(id, 'You are no longer in this room.');
    throw err;
  }
  if (ticket !== opening) return;
  const room = rooms.value.get(id);
  const readBy = new Map(detail.members.filter((m) => m.user_id !== me.value?.id).map((m) => [m.user_id, m.last_read_seq]));
  let delivered = 0;
  const mine = page.messages.find((m) => m.sender_id === me.value?.id);
  if (room?.type === 'direct' && mine) {
    const status = await client.request<{ status: string }>('GET', `/api/chats/${id}/messages/${mine.seq}/status`);
    if (ticket !== opening) return;
    if (status.status !== 'sent') delivered = mine.seq;
  }
  // More unread than the first page: older pages too, so that the divider sits where they start.
  const readAtOpen = room?.read ?? 0;
  const pages = [page.messages];
  let olderCursor = page.next_before ?? 0;
  while (olderCursor > readAtOpen + 1 && page.head_seq - olderCursor < UNREAD_REACH) {
    const older = await client.history(id, { before: olderCursor, limit: 100 });
    if (ticket !== opening) return;
    pages.push(older.messages);
    olderCursor = older.next_before ?? 0;
  }
  // Live messages that came while the page loaded are kept: history may or may not hold them; and
  // so are the edits and deletions that came meanwhile, whether history has them or not.
  const live = thread.value?.roomId === id ? thread.value.messages : [];
  const changed = thread.value?.roomId === id ? thread.value.changedWhileLoading : [];
  const loaded = pages.flat().reverse();
  const newest = loaded.at(-1)?.seq ?? 0;
  const messages = changed.reduce(
    (all, { seq, change }) => all.map((m) => (m.seq === seq ? change(m) : m)),
    [...loaded, ...live.filter((m) => m.seq > newest)],
  );
  const firstUnread = loaded.find((m) => m.seq > readAtOpen && m.sender_id !== me.value?.id && m.message_type !== 'system')?.seq ?? 0;
  thread.value = {
    roomId: id,
    loading: false,
    messages,
    olderCursor,
    readBy,
    delivered,
    firstUnread,
    unreadAbove: firstUnread !== 0 && olderCursor > readAtOpen + 1,
    members: undefined,
    changedWhileLoading: [],
  };
  if (room?.type === 'direct' && page.head_seq > 0) client.markReceived(id, page.head_seq);
  // Up to the newest event, whatever this page believed the head to be.
  if (!document.hidden) client.markRead(id);
  // The detail names its members: no need to ask for theirs.
  const named = detail.members.filter((m) => m.name !== null);
  if (named.length > 0) {
    names.value = new Map([...names.value, ...named.map((m) => [m.user_id, m.name!] as const)]);
    for (const m of named) asked.add(m.user_id);
  }
  await resolveNames([...loaded.flatMap((m) => [m.sender_id, m.system?.user_id ?? null, m.system?.actor_id ?? null]), ...detail.members.map((m) => m.user_id)]);
}

export async function loadOlder(): Promise<boolean> {
  const t = thread.value;
  if (!t || t.loading || t.olderCursor === 0) return false;
  const roomId = t.roomId;
  const page = await client.history(roomId, { before: t.olderCursor, limit: 50 });
  void resolveNames(page.messages.map((m) => m.sender_id)).catch(() => undefined);
  withThread(roomId, (now) => ({
    ...now,
    messages: [...[...page.messages].reverse().filter((m) => !now.messages.some((n) => n.seq === m.seq)), ...now.messages],
    // A window of only edits lists no message, and the next one may: page on with the cursor.
    olderCursor: page.next_before ?? 0,
  }));
  return page.messages.length > 0;
}

/** The room the current history entry was opened for (undefined: the room list's entry). */
const openInHistory = () => (history.state as { room?: number } | null)?.room;

/** The conversation's back button: the history entry goes as Back would take it. */
export function back(): void {
  if (openInHistory() === undefined) closeRoom();
  else history.back();
}

window.addEventListener('popstate', () => {
  const room = openInHistory();
  if (room === undefined) {
    if (activeId.value !== undefined) closeRoom();
  } else if (room !== activeId.value && rooms.value.has(room)) attempt(() => openRoom(room));
});

/** Back to the room list (on a phone, the list's screen). */
export function closeRoom(): void {
  if (me.value) localStorage.removeItem(roomKey(me.value.id));
  if (openInHistory() !== undefined) history.replaceState(null, '');
  batch(() => {
    opening++;
    activeId.value = undefined;
    thread.value = undefined;
  });
}

/** The room is no longer mine: out of the list (and the view), with a word why. */
function forget(id: number, why: string): void {
  const room = rooms.value.get(id);
  batch(() => {
    const next = new Map(rooms.value);
    next.delete(id);
    rooms.value = next;
    if (activeId.value === id) closeRoom();
    const left = [...outgoing.value.values()].filter((o) => o.roomId === id);
    if (left.length > 0) outgoing.value = new Map([...outgoing.value].filter(([, o]) => o.roomId !== id));
    say(room ? `${roomTitle(room)}: ${why}` : why, 'notice');
  });
  attempt(loadDirectory);
}

/** The server's read position and unread count of a room, unless the page already knows a later position. */
function readStateOf(roomId: number, lastRead: number, unread: number): void {
  withRoom(roomId, (room) => (lastRead >= room.read ? { ...room, read: lastRead, unread } : room));
}

let recounting: ReturnType<typeof setTimeout> | undefined;

/** Asks for the unread counts again, once for a burst of calls. */
function recountUnread(): void {
  recounting ??= setTimeout(() => {
    recounting = undefined;
    attempt(async () => {
      const counts = await client.request<UnreadCount>('GET', '/api/unread-count');
      batch(() => {
        for (const c of counts.chats) readStateOf(c.chat_id, c.last_read_seq, c.unread);
      });
    });
  }, 200);
}

function bumpHead(roomId: number, seq: number): void {
  withRoom(roomId, (room) => ({ ...room, head: Math.max(room.head, seq) }));
}

/** An edit or deletion of a message: in the open thread, and in the room list's preview if it is the room's last. */
function patchMessage(roomId: number, seq: number, change: (m: Message) => Message): void {
  batch(() => {
    withRoom(roomId, (room) => (room.last?.seq === seq ? { ...room, last: change(room.last) } : room));
    withThread(roomId, (t) => ({
      ...t,
      messages: t.messages.map((m) => (m.seq === seq ? change(m) : m)),
      changedWhileLoading: t.loading ? [...t.changedWhileLoading, { seq, change }] : t.changedWhileLoading,
    }));
  });
}

/** How a system message changes a room's member count. */
const membersChange = (event: string | undefined) =>
  event === 'member_joined' || event === 'member_added' ? 1 : event === 'member_left' || event === 'member_removed' ? -1 : 0;

function onMessage(m: Message & { type: 'message' }): void {
  const { type: _type, ...message } = m;
  const mine = m.sender_id === me.value?.id;
  const room = rooms.value.get(m.chat_id);
  if (!room) return attempt(loadRooms);
  const about = m.system?.user_id === me.value?.id;
  if (about && (m.system?.event === 'member_left' || m.system?.event === 'member_removed' || m.system?.event === 'room_deleted'))
    return forget(m.chat_id, m.system.event === 'member_left' ? 'you left.' : 'you were removed.');
  if (m.system?.event === 'room_deleted') return forget(m.chat_id, 'the room was deleted.');
  batch(() => {
    withRoom(m.chat_id, (r) => ({
      ...r,
      head: Math.max(r.head, m.seq),
      read: mine ? Math.max(r.read, m.seq) : r.read,
      unread: mine ? 0 : r.unread + (m.seq > r.read && !m.system ? 1 : 0),
      activity: m.created_at > r.activity ? m.created_at : r.activity,
      last: message,
      memberCount: r.memberCount + membersChange(m.system?.event),
      // Promoted or demoted: the admin controls come or go at once.
      isAdmin: about && m.system?.event === 'member_promoted' ? true : about && m.system?.event === 'member_demoted' ? false : r.isAdmin,
    }));
    withThread(m.chat_id, (t) => (t.messages.some((x) => x.seq === m.seq) ? t : { ...t, messages: [...t.messages, message] }));
    // A membership change: the member list, when shown, is asked for again.
    if (m.system && m.system.event !== 'notice') withThread(m.chat_id, (t) => ({ ...t, members: undefined }));
    if (mine && outgoing.value.has(m.client_id)) {
      const next = new Map(outgoing.value);
      next.delete(m.client_id);
      outgoing.value = next;
    }
    if (m.chat_id === activeId.value && m.sender_id && typing.value.has(m.sender_id)) {
      const next = new Map(typing.value);
      next.delete(m.sender_id);
      typing.value = next;
    }
  });
  if (!mine && room.type === 'direct') client.markReceived(m.chat_id, m.seq);
  if (m.sender_id && !names.value.has(m.sender_id)) attempt(() => resolveNames([m.sender_id]));
  if (m.chat_id === activeId.value) markRead();
}

export function markRead(): void {
  const room = activeRoom.value;
  if (!room || document.hidden || thread.value?.loading) return;
  if (room.head > room.read) client.markRead(room.id);
}

/** Sends my text to the room, shown as sending until its event comes; a refusal stays, with Retry. */
export function send(roomId: number, content: string, clientId = `web-${crypto.randomUUID()}`): void {
  outgoing.value = new Map(outgoing.value).set(clientId, { clientId, roomId, content, state: 'sending' });
  client.typing(roomId, 'stop');
  client.send(roomId, content, { clientId }).then(clearErrors, (err: unknown) => {
    const o = outgoing.value.get(clientId);
    if (o) outgoing.value = new Map(outgoing.value).set(clientId, { ...o, state: 'failed', error: reason(err) });
    say(`Not sent: ${reason(err)}`);
  });
}

export function retry(o: OutgoingMessage): void {
  send(o.roomId, o.content, o.clientId);
}

export function discard(o: OutgoingMessage): void {
  const next = new Map(outgoing.value);
  next.delete(o.clientId);
  outgoing.value = next;
}

export function startTyping(roomId: number): void {
  client.typing(roomId, 'start');
}

export async function sendFiles(roomId: number, files: File[]): Promise<void> {
  for (const file of files) {
    try {
      await client.sendFile(roomId, file, file.name);
      clearErrors();
    } catch (err) {
      say(`${file.name} not sent: ${reason(err)}`);
    }
  }
}

export function download(file: { url: string }): Promise<Blob> {
  return client.download(file);
}

export async function editMessage(roomId: number, seq: number, content: string): Promise<void> {
  await client.request('PATCH', `/api/chats/${roomId}/messages/${seq}`, { client_id: `web-${crypto.randomUUID()}`, content });
}

export async function deleteMessage(roomId: number, seq: number): Promise<void> {
  await client.request('DELETE', `/api/chats/${roomId}/messages/${seq}`);
}

export async function createDirect(user: string): Promise<void> {
  const chat = await client.request<Chat>('POST', '/api/chats', { type: 'direct', user_id: user });
  await loadRooms();
  await openRoom(chat.id);
}

/** A new group, private unless asked otherwise: a public one anyone can find and join. */
export async function createGroup(name: string, isPublic: boolean): Promise<void> {
  const chat = await client.request<Chat>('POST', '/api/chats', { type: 'group', name, is_public: isPublic });
  await loadRooms();
  await openRoom(chat.id);
}

export async function join(chatId: number): Promise<void> {
  await client.request('POST', `/api/chats/${chatId}/join`);
  await loadRooms();
  await openRoom(chatId);
}

export async function leave(chatId: number): Promise<void> {
  await client.request('POST', `/api/chats/${chatId}/leave`);
  // The room's `member_left` event takes it out of the list; a room whose event is late goes now.
  if (rooms.value.has(chatId)) forget(chatId, 'you left.');
}

/** The open group's members with their roles (up to 500). */
export async function loadMembers(roomId: number): Promise<void> {
  const { participants } = await client.request<{ participants: Participant[] }>('GET', `/api/chats/${roomId}/participants?limit=500`);
  await resolveNames(participants.map((p) => p.user_id));
  withThread(roomId, (t) => ({ ...t, members: participants }));
}

export async function addMember(roomId: number, userId: string): Promise<void> {
  await client.request('POST', `/api/chats/${roomId}/participants`, { user_id: userId });
  await loadMembers(roomId);
}

export async function removeMember(roomId: number, userId: string): Promise<void> {
  await client.request('DELETE', `/api/chats/${roomId}/participants/${encodeURIComponent(userId)}`);
  await loadMembers(roomId);
}

export async function setRole(roomId: number, userId: string, role: 'admin' | 'member'): Promise<void> {
  await client.request('PATCH', `/api/chats/${roomId}/participants/${encodeURIComponent(userId)}`, { role });
  await loadMembers(roomId);
}
