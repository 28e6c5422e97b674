// The /chat page's messages: each message with its file, marks and actions, the day and
// new-message dividers, and who is typing. Every string from the server is rendered as text.
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Attachment, Message } from '@parley/protocol';
import { formatBytes } from '@parley/protocol/sizes';
import { systemText } from '@parley/protocol/system-text';
import { LinkifyIt } from 'linkify-it';
import { dayLabel, dayOf, field, timeOf } from './format.js';
import * as store from './store.js';

/** A system message with people by name (the server's `content` names them by id). */
function systemLine(m: Message): string {
  const s = m.system;
  return !s || s.event === 'notice' ? m.content : systemText({ ...s, event: s.event }, store.displayName);
}

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

export function Messages({ t }: { t: store.Thread }) {
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

export function Typing() {
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
