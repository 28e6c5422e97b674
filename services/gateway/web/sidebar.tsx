// The /chat page's sidebar: who I am, new chats and groups, my rooms and the public ones.
import type { ComponentChildren } from 'preact';
import { field, plural, shortWhen } from './format.js';
import * as store from './store.js';

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

/** A one-line form: a text field, the `children` (options beside it), and a button. */
export function InlineForm(props: {
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

export function Sidebar() {
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
