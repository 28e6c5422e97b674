// The /chat page's state: the signals the components read, and the small changes every action
// makes to them. Only the actions (store.ts) change them.
import { computed, signal } from '@preact/signals';
import type { ConnectionState } from '@parley/client';
import type { Chat, Message, Participant, UserPresence } from '@parley/protocol';

export interface Room {
  id: number;
  type: 'direct' | 'group';
  name: string | null;
  peer: string | undefined;
  head: number;
  read: number;
  /** Messages of others after `read` that are still there (the server's count, kept current by the events). */
  unread: number;
  memberCount: number;
  isAdmin: boolean;
  /** A group anyone can find and join; private groups take members by invitation. */
  isPublic: boolean;
  /** When the room last had a message (or was created): the list's order. */
  activity: string;
  /** The newest message, for the list's preview. */
  last: Message | undefined;
}

/** The open conversation: its room, its messages oldest first, and where paging back goes on. */
export interface Thread {
  roomId: number;
  loading: boolean;
  messages: Message[];
  /** `before` for the next older page; 0 when there is none. */
  olderCursor: number;
  /** Each other member's read position, and (direct rooms) delivery position. */
  readBy: ReadonlyMap<string, number>;
  delivered: number;
  /** The first message I had not read when I opened the room (0: none): the "new messages" divider goes before it. */
  firstUnread: number;
  /** Unread messages lie beyond what opening the room loaded (more than UNREAD_REACH): the divider says so at the top. */
  unreadAbove: boolean;
  /** The room's members with their roles (groups), asked for when the member list is shown. */
  members: readonly Participant[] | undefined;
  /**
   * Edits and deletions that came while the room was loading: applied again to what history
   * returned, which may have been read before them.
   */
  changedWhileLoading: ReadonlyArray<{ seq: number; change: (m: Message) => Message }>;
}

/** A message of mine on its way: shown until the room's event for it arrives. */
export interface OutgoingMessage {
  clientId: string;
  roomId: number;
  content: string;
  /** retrying: refused for now (a failover, the rate limit); the client sends it again by itself. */
  state: 'sending' | 'retrying' | 'failed';
  error?: string;
}

export interface Banner {
  id: number;
  text: string;
  kind: 'error' | 'notice';
}

export const me = signal<{ id: string; name: string } | undefined>(undefined);
export const connection = signal<ConnectionState>('closed');
/** The gateway this page's socket is on (the welcome's node id). */
export const gateway = signal('');
export const rooms = signal<ReadonlyMap<number, Room>>(new Map());
export const activeId = signal<number | undefined>(undefined);
export const thread = signal<Thread | undefined>(undefined);
export const outgoing = signal<ReadonlyMap<string, OutgoingMessage>>(new Map());
export const banners = signal<readonly Banner[]>([]);
export const presence = signal<ReadonlyMap<string, Pick<UserPresence, 'state' | 'last_seen'>>>(new Map());
/** Display names of the users this page has seen. */
export const names = signal<ReadonlyMap<string, string>>(new Map());
export const typing = signal<ReadonlyMap<string, number>>(new Map());
export const directory = signal<readonly Chat[]>([]);

/** Unread messages over all my rooms (the tab's title shows it). */
export const totalUnread = computed(() => [...rooms.value.values()].reduce((sum, r) => sum + r.unread, 0));
export const activeRoom = computed(() => (activeId.value === undefined ? undefined : rooms.value.get(activeId.value)));
export const roomList = computed(() => [...rooms.value.values()].sort((a, b) => b.activity.localeCompare(a.activity)));

export const displayName = (userId: string | null | undefined): string => (userId ? (names.value.get(userId) ?? userId) : 'Parley');
export const roomTitle = (room: Room): string => room.name ?? (room.peer ? displayName(room.peer) : `Room ${room.id}`);

let nextBanner = 1;

export const withRoom = (id: number, change: (room: Room) => Room) => {
  const room = rooms.value.get(id);
  if (room) rooms.value = new Map(rooms.value).set(id, change(room));
};
export const withThread = (roomId: number, change: (t: Thread) => Thread) => {
  const t = thread.value;
  if (t && t.roomId === roomId) thread.value = change(t);
};

export function say(text: string, kind: Banner['kind'] = 'error'): void {
  banners.value = [...banners.value.filter((b) => b.text !== text), { id: nextBanner++, text, kind }];
}
export function dismiss(id: number): void {
  banners.value = banners.value.filter((b) => b.id !== id);
}
/** A later success clears the errors an earlier attempt left. */
export const clearErrors = () => {
  if (banners.value.some((b) => b.kind === 'error')) banners.value = banners.value.filter((b) => b.kind !== 'error');
};
export const reason = (err: unknown) => (err instanceof Error ? err.message : 'Something went wrong');

/** Runs an action; what it throws is shown in a banner, never left unhandled. */
export function attempt(action: () => Promise<unknown>, prefix = ''): void {
  action().catch((err: unknown) => say(`${prefix}${reason(err)}`));
}
