// The /chat page: a chat client on @parley/client, in Preact components over the signals of
// store.ts. Every string from the server is rendered as text (JSX children), never as HTML.
import { Fragment, render, type ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { signal, useSignal, useSignalEffect } from '@preact/signals';
import type { Attachment, Message } from '@parley/protocol';
import { formatBytes } from '@parley/protocol/sizes';
import { systemText } from '@parley/protocol/system-text';
import { LinkifyIt } from 'linkify-it';
import * as store from './store.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A form's text field, trimmed ('' if it has none). */
const field = (form: HTMLFormElement, name: string) => {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value.trim() : '';
};
const dayOf = (iso: string) => new Date(iso).toDateString();
/** Today's messages by time, older ones by date. */
const shortWhen = (iso: string) =>
  dayOf(iso) === new Date().toDateString() ? timeOf(iso) : new Date(iso).toLocaleDateString([], { month: 'short', day: 'numeric' });
const dayLabel = (iso: string) => {
  const day = dayOf(iso);
  if (day === new Date().toDateString()) return 'Today';
  if (day === new Date(Date.now() - 86_400_000).toDateString()) return 'Yesterday';
  return new Date(iso).toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
};
/** The room list's line under a room's name: who said what last. */
function preview(room: store.Room): string {
  const last = room.last!;
  const what = last.deleted_at
    ? 'Message deleted'
    : last.message_type === 'text' || last.message_type === 'system'
      ? last.content
      : last.content || `[${last.message_type}]`;
  const who =
    last.message_type === 'system' || room.type === 'direct' ? '' : last.sender_id === store.me.value?.id ? 'You: ' : `${store.displayName(last.sender_id)}: `;
  return `${who}${what}`.replace(/\s+/g, ' ').slice(0, 80);
}
/** A system message with people by name (the server's `content` names them by id). */
function systemLine(m: Message): string {
  const s = m.system;
  return !s || s.event === 'notice' ? m.content : systemText({ ...s, event: s.event }, store.displayName);
}

/** A user's presence as a header says it. */
function presenceText(userId: string): string {
  const p = store.presence.value.get(userId);
  if (p?.state === 'online') return 'online';
  if (p?.state === 'away') return 'away';
  return p?.last_seen ? `last seen ${shortWhen(p.last_seen)}${dayOf(p.last_seen) === new Date().toDateString() ? '' : ` ${timeOf(p.last_seen)}`}` : 'offline';
}
const timeOf = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

const linkify = new LinkifyIt();
/** What a link in a message may open: the web and mail, never `javascript:` or `data:`. */
const SAFE_LINK = /^(https?:|mailto:)/i;

/** A message's text, its web addresses as links (found by linkify-it) that open in a new tab without a referrer. */
function Linked({ text }: { text: string }) {
  const links = (linkify.match(text) ?? []).filter((m) => SAFE_LINK.test(m.url));
  if (links.length === 0) return <>{text}</>;
  const parts = [];
  let at = 0;
  for (const link of links) {
    parts.push(text.slice(at, link.index));
    parts.push(
      <a href={link.url} target="_blank" rel="noopener noreferrer nofollow">
        {link.text}
      </a>,
    );
    at = link.lastIndex;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

function SignIn() {
  const error = useSignal('');
  const busy = useSignal(false);
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const user = field(form, 'user');
    const name = field(form, 'name');
    busy.value = true;
    store.signIn(user, name).catch((err: Error) => {
      error.value = err.message;
      busy.value = false;
    });
  };
  return (
    <main id="signin" class="signin">
      <form id="signin-form" class="card" onSubmit={submit}>
        <h1>Parley</h1>
        <p class="muted">Sign in as a demo user (development tokens).</p>
        <label>
          User id <input name="user" required maxLength={64} autoComplete="username" placeholder="alice" />
        </label>
        <label>
          Display name <input name="name" maxLength={100} placeholder="Alice" />
        </label>
        <button type="submit" disabled={busy.value}>
          Sign in
        </button>
        <p id="signin-error" class="error" role="alert">
          {error.value}
        </p>
      </form>
    </main>
  );
}

/** A one-field form that runs an action and shows what it throws. */
/** A one-line form: a text field, the `children` (options beside it), and a button. */
function InlineForm(props: {
  id: string;
  placeholder: string;
  title: string;
  maxLength: number;
  action: (value: string, form: HTMLFormElement) => Promise<void>;
  children?: ComponentChildren;
}) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const value = field(form, 'value');
    if (!value) return;
    store.attempt(async () => {
      await props.action(value, form);
      form.reset();
    });
  };
  return (
    <form id={props.id} class="inline" onSubmit={submit}>
      <input name="value" placeholder={props.placeholder} aria-label={props.placeholder} required maxLength={props.maxLength} />
      {props.children}
      <button title={props.title} aria-label={props.title}>
        +
      </button>
    </form>
  );
}

function RoomList() {
  return (
    <ul id="rooms" class="rooms" aria-label="Conversations">
      {store.roomList.value.map((room) => {
        const unread = room.unread;
        const state = room.peer ? (store.presence.value.get(room.peer)?.state ?? 'offline') : undefined;
        return (
          <li key={room.id} data-room={room.id} class={room.id === store.activeId.value ? 'active' : ''}>
            <button class="room" onClick={() => store.attempt(() => store.openRoom(room.id))} aria-current={room.id === store.activeId.value}>
              <span class="dot" data-state={state ?? 'group'} aria-label={state} />
              <span class="summary">
                <span class="name">{store.roomTitle(room)}</span>
                {room.last && <span class="preview">{preview(room)}</span>}
              </span>
              {room.last && (
                <time class="when" dateTime={room.last.created_at}>
                  {shortWhen(room.last.created_at)}
                </time>
              )}
              {unread > 0 && room.id !== store.activeId.value && (
                <span class="badge" aria-label={plural(unread, 'unread message')}>
                  {unread}
                </span>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** Public rooms I could join: asked for each time it opens, and whenever my rooms change. */
function Directory() {
  return (
    <details class="discover" onToggle={(e) => e.currentTarget.open && store.attempt(store.loadDirectory)}>
      <summary>Public rooms</summary>
      <ul id="public-rooms" class="rooms">
        {store.directory.value.map((c) => (
          <li key={c.id}>
            <button class="room" onClick={() => store.attempt(() => store.join(c.id))}>
              <span class="name">{c.name ?? `Room ${c.id}`}</span>
              <span class="muted">{plural(c.member_count, 'member')} · join</span>
            </button>
          </li>
        ))}
        {store.directory.value.length === 0 && <li class="muted">No public rooms to join.</li>}
      </ul>
    </details>
  );
}

function Sidebar() {
  const who = store.me.value!;
  return (
    <aside class="sidebar">
      <header class="me">
        <span id="me-name">{who.name}</span>
        <button id="sign-out" class="quiet" onClick={store.signOut}>
          Sign out
        </button>
        <span id="conn" class="conn" data-state={store.connection.value} title={store.gateway.value ? `via ${store.gateway.value}` : undefined}>
          {store.connection.value}
        </span>
      </header>
      <InlineForm id="new-direct" placeholder="Chat with user id…" title="Start a direct chat" maxLength={128} action={store.createDirect} />
      <InlineForm
        id="new-group"
        placeholder="New group name…"
        title="Create a group"
        maxLength={100}
        action={(name, form) => store.createGroup(name, new FormData(form).has('public'))}
      >
        <label class="option" title="Anyone can find and join a public group; a private one only by invitation">
          <input type="checkbox" name="public" /> public
        </label>
      </InlineForm>
      <nav aria-label="Rooms">
        <RoomList />
      </nav>
      <Directory />
      {store.gateway.value && <p class="muted gateway">Connected through {store.gateway.value}</p>}
    </aside>
  );
}

function Banners() {
  const state = store.connection.value;
  const link =
    state === 'polling'
      ? 'Live connection unavailable: checking for messages every few seconds.'
      : state === 'open'
        ? ''
        : 'Reconnecting… nothing will be missed.';
  return (
    <div class="banners">
      {link && (
        <div id="banner" class="banner" role="status">
          {link}
        </div>
      )}
      {store.banners.value.map((b) => (
        <div key={b.id} class={`banner ${b.kind}`} role={b.kind === 'error' ? 'alert' : 'status'} data-kind={b.kind}>
          <span>{b.text}</span>
          <button class="dismiss" aria-label="Dismiss" onClick={() => store.dismiss(b.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/**
 * A message's file: fetched with the SDK (the token never goes into a URL) into a blob URL; an
 * image is shown, anything else is a link that saves it under its name.
 */
function AttachmentView({ file }: { file: Attachment }) {
  const [url, setUrl] = useState<string | undefined>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let gone = false;
    let made: string | undefined;
    store.download(file).then(
      (blob) => {
        made = URL.createObjectURL(blob);
        if (gone) URL.revokeObjectURL(made);
        else setUrl(made);
      },
      () => !gone && setFailed(true),
    );
    return () => {
      gone = true;
      if (made) URL.revokeObjectURL(made);
    };
  }, [file.url]);
  if (file.mime_type.startsWith('image/')) return <img class="picture" alt={failed ? `${file.name} (unavailable)` : file.name} src={url} />;
  return (
    <a class={`file${failed ? ' unavailable' : ''}`} href={url ?? '#'} download={file.name}>
      ↓ {file.name} · {formatBytes(file.size)}
    </a>
  );
}

function MessageItem({ m, status }: { m: Message; status: string | undefined }) {
  const me = store.me.value!.id;
  const [editing, setEditing] = useState(false);
  if (m.message_type === 'system') return <li class="system">{systemLine(m)}</li>;
  const mine = m.sender_id === me;
  const deleted = m.deleted_at !== undefined;
  const save = (event: Event) => {
    event.preventDefault();
    const content = field(event.currentTarget as HTMLFormElement, 'content');
    if (!content) return;
    store.attempt(async () => {
      await store.editMessage(m.chat_id, m.seq, content);
      setEditing(false);
    }, 'Not edited: ');
  };
  return (
    <li data-seq={m.seq} class={`${mine ? 'mine' : ''}${deleted ? ' deleted' : ''}`}>
      {!mine && <span class="who">{store.displayName(m.sender_id)}</span>}
      {m.attachment && <AttachmentView file={m.attachment} />}
      {editing ? (
        <form class="edit" onSubmit={save}>
          <textarea name="content" aria-label="Edit message" defaultValue={m.content} maxLength={8000} />
          <button>Save</button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        (deleted || m.content) && <span class="body">{deleted ? m.recalled ? 'Message recalled' : 'Message deleted' : <Linked text={m.content} />}</span>
      )}
      <span class="meta">
        {timeOf(m.created_at)}
        {m.edited_at && !deleted ? ' · edited' : ''}
      </span>
      {status && <span class={`meta ${status.startsWith('Seen') ? 'seen' : 'status'}`}>{status}</span>}
      {mine && !deleted && !editing && (
        <span class="actions">
          {m.message_type === 'text' && <button onClick={() => setEditing(true)}>Edit</button>}
          <button onClick={() => store.attempt(() => store.deleteMessage(m.chat_id, m.seq), 'Not deleted: ')}>Delete</button>
        </span>
      )}
    </li>
  );
}

/** What my messages' marks say: "Seen by …" where a reader's position stops, else delivered or sent on my newest. */
function statuses(t: store.Thread, me: string): Map<number, string> {
  const mine = t.messages.filter((m) => m.sender_id === me && m.message_type !== 'system').map((m) => m.seq);
  const out = new Map<number, string[]>();
  for (const [user, seq] of t.readBy) {
    const reached = mine.filter((s) => s <= seq).at(-1);
    if (reached !== undefined) out.set(reached, [...(out.get(reached) ?? []), store.displayName(user)]);
  }
  const result = new Map([...out].map(([seq, who]) => [seq, `Seen by ${who.join(', ')}`]));
  const newest = mine.at(-1);
  if (newest !== undefined && ![...t.readBy.values()].some((s) => s >= newest)) result.set(newest, t.delivered >= newest ? 'Delivered' : 'Sent');
  return result;
}

function Messages({ t }: { t: store.Thread }) {
  const list = useRef<HTMLOListElement>(null);
  /** Whether the view follows the newest message: on open, and while the reader is at the bottom. */
  const stick = useRef(true);
  const lastTop = useRef(0);
  const loadingOlder = useRef(false);
  const me = store.me.value!.id;
  useLayoutEffect(() => {
    stick.current = true;
  }, [t.roomId]);
  // Pictures load after the messages render, and grow the list: keep the newest in view while following.
  useEffect(() => {
    const el = list.current!;
    const follow = new ResizeObserver(() => {
      if (stick.current) el.scrollTop = el.scrollHeight;
    });
    for (const child of el.children) follow.observe(child);
    follow.observe(el);
    return () => follow.disconnect();
  });
  useLayoutEffect(() => {
    const el = list.current!;
    if (stick.current) el.scrollTop = el.scrollHeight;
  });
  const onScroll = () => {
    const el = list.current!;
    // Content growing under the view (a picture loading) scrolls nothing: only the reader scrolling up stops following.
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 40) stick.current = true;
    else if (el.scrollTop < lastTop.current) stick.current = false;
    lastTop.current = el.scrollTop;
    if (el.scrollTop > 40 || loadingOlder.current) return;
    loadingOlder.current = true;
    const height = el.scrollHeight;
    store.attempt(async () => {
      try {
        if (await store.loadOlder()) requestAnimationFrame(() => (el.scrollTop += el.scrollHeight - height));
      } finally {
        loadingOlder.current = false;
      }
    });
  };
  const marks = statuses(t, me);
  const waiting = [...store.outgoing.value.values()].filter((o) => o.roomId === t.roomId);
  return (
    <ol id="messages" class="messages" data-room={t.roomId} aria-live="polite" aria-busy={t.loading} ref={list} onScroll={onScroll}>
      {t.messages.map((m, i) => {
        const before = t.messages[i - 1];
        const newDay = !before || dayOf(before.created_at) !== dayOf(m.created_at);
        const firstNew = m.seq === t.firstUnread;
        return (
          <Fragment key={m.seq}>
            {newDay && <li class="divider day">{dayLabel(m.created_at)}</li>}
            {firstNew && <li class="divider unread">{t.unreadAbove ? 'New messages (more above)' : 'New messages'}</li>}
            <MessageItem m={m} status={marks.get(m.seq)} />
          </Fragment>
        );
      })}
      {waiting.map((o) => (
        <li key={o.clientId} class={`mine outgoing ${o.state}`} data-client-id={o.clientId}>
          <span class="body">{o.content}</span>
          {o.state === 'sending' ? (
            <span class="meta status">Sending…</span>
          ) : o.state === 'retrying' ? (
            <span class="meta status">Retrying…</span>
          ) : (
            <span class="meta status">
              Not sent: {o.error} <button onClick={() => store.retry(o)}>Retry</button> <button onClick={() => store.discard(o)}>Discard</button>
            </span>
          )}
        </li>
      ))}
    </ol>
  );
}

function Typing() {
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, []);
  const now = Date.now();
  const who = [...store.typing.value].filter(([, until]) => until > now).map(([user]) => store.displayName(user));
  return (
    <div id="typing" class="typing muted" aria-live="polite">
      {who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`}
    </div>
  );
}

/** Enter sends, Shift+Enter starts a new line; files by the button, by pasting, or dropped on the conversation. */
function Composer({ roomId }: { roomId: number }) {
  const text = useRef<HTMLTextAreaElement>(null);
  const file = useRef<HTMLInputElement>(null);
  const submit = (event?: Event) => {
    event?.preventDefault();
    const area = text.current!;
    const content = area.value.trim();
    if (!content) return;
    area.value = '';
    store.send(roomId, content);
  };
  return (
    <form id="composer" class="composer" onSubmit={submit}>
      <button type="button" id="attach" class="attach" title="Send a picture or file" onClick={() => file.current!.click()}>
        File
      </button>
      <input
        type="file"
        id="file"
        multiple
        hidden
        ref={file}
        onChange={(e) => {
          const input = e.currentTarget;
          const files = [...(input.files ?? [])];
          input.value = '';
          store.attempt(() => store.sendFiles(roomId, files));
        }}
      />
      <textarea
        id="text"
        name="text"
        ref={text}
        rows={1}
        maxLength={8000}
        placeholder="Write a message…"
        aria-label="Message"
        onInput={() => store.startTyping(roomId)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e);
        }}
        onPaste={(e) => {
          const files = [...(e.clipboardData?.files ?? [])];
          if (files.length === 0) return;
          e.preventDefault();
          store.attempt(() => store.sendFiles(roomId, files));
        }}
      />
      <button>Send</button>
    </form>
  );
}

/** A group's members with their roles; admins add, remove, promote and demote. */
function Members({ room, t }: { room: store.Room; t: store.Thread }) {
  const me = store.me.value!.id;
  useEffect(() => {
    if (!t.members) store.attempt(() => store.loadMembers(room.id));
  }, [room.id, t.members]);
  return (
    <section id="members" class="members" aria-label="Members">
      {room.isAdmin && (
        <InlineForm
          id="add-member"
          placeholder="Add a member by user id…"
          title="Add the member"
          maxLength={128}
          action={(user) => store.addMember(room.id, user)}
        />
      )}
      <ul>
        {(t.members ?? []).map((p) => (
          <li key={p.user_id} data-user={p.user_id}>
            <span class="dot" data-state={store.presence.value.get(p.user_id)?.state ?? 'offline'} />
            <span class="name">{store.displayName(p.user_id)}</span>
            <span class="role muted">{p.role}</span>
            {room.isAdmin && p.user_id !== me && (
              <span class="member-actions">
                <button class="quiet" onClick={() => store.attempt(() => store.setRole(room.id, p.user_id, p.role === 'admin' ? 'member' : 'admin'))}>
                  {p.role === 'admin' ? 'Make member' : 'Make admin'}
                </button>
                <button class="quiet" onClick={() => store.attempt(() => store.removeMember(room.id, p.user_id))}>
                  Remove
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

const membersOpen = signal(false);

function Conversation() {
  const room = store.activeRoom.value;
  const t = store.thread.value;
  const shown = t && room && t.roomId === room.id ? t : undefined;
  return (
    <section
      class="conversation"
      onDragOver={(e) => room && e.preventDefault()}
      onDrop={(e) => {
        if (!room) return;
        e.preventDefault();
        const files = [...(e.dataTransfer?.files ?? [])];
        store.attempt(() => store.sendFiles(room.id, files));
      }}
    >
      <header class="room-header">
        {room && (
          <button class="back quiet" aria-label="Back to the conversations" onClick={store.back}>
            ←
          </button>
        )}
        <h2 id="room-title">{room ? store.roomTitle(room) : 'Pick a conversation'}</h2>
        <span id="room-sub" class="muted">
          {room
            ? room.type === 'direct'
              ? room.peer
                ? presenceText(room.peer)
                : 'direct chat'
              : `${room.isPublic ? 'public' : 'private'} group · ${plural(room.memberCount, 'member')}`
            : ''}
        </span>
        {room?.type === 'group' && (
          <>
            <button class="members-toggle quiet" aria-expanded={membersOpen.value} onClick={() => (membersOpen.value = !membersOpen.value)}>
              Members
            </button>
            <button class="leave" onClick={() => store.attempt(() => store.leave(room.id), 'Could not leave: ')}>
              Leave
            </button>
          </>
        )}
      </header>
      {room?.type === 'group' && membersOpen.value && shown && <Members room={room} t={shown} />}
      <Banners />
      {shown ? <Messages t={shown} /> : <ol id="messages" class="messages" />}
      <Typing />
      {room && <Composer key={room.id} roomId={room.id} />}
    </section>
  );
}

function App() {
  useSignalEffect(() => {
    const total = store.totalUnread.value;
    document.title = total > 0 ? `(${total}) Parley` : 'Parley';
  });
  if (!store.me.value) return <SignIn />;
  return (
    <div id="app" class="app" data-view={store.activeId.value === undefined ? 'rooms' : 'conversation'}>
      <Sidebar />
      <Conversation />
    </div>
  );
}

store.resume();
render(<App />, document.getElementById('root')!);
