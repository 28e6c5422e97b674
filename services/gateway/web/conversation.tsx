// The /chat page's open conversation: its header, members, banners, messages and composer.
import { useEffect, useRef } from 'preact/hooks';
import { signal } from '@preact/signals';
import { dayOf, plural, shortWhen, timeOf } from './format.js';
import { Messages, Typing } from './messages.js';
import { InlineForm } from './sidebar.js';
import * as store from './store.js';

/** A user's presence as a header says it. */
function presenceText(userId: string): string {
  const p = store.presence.value.get(userId);
  if (p?.state === 'online') return 'online';
  if (p?.state === 'away') return 'away';
  return p?.last_seen ? `last seen ${shortWhen(p.last_seen)}${dayOf(p.last_seen) === new Date().toDateString() ? '' : ` ${timeOf(p.last_seen)}`}` : 'offline';
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

export function Conversation() {
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
