import type { ClientFrame, ClientFrameOf, FileInfo, HistoryPage, ServerFrame, ServerFrameOf, ServerFrameType, UploadResult } from '@parley/protocol';
import { ParleyRequestError, RestApi } from './rest.js';
import { RoomFeeds, type RoomEventFrame } from './room-feeds.js';

/**
 * `polling`: no WebSocket could be opened (a proxy that refuses upgrades, say): history is polled
 * and sends go over REST, while the WebSocket is retried now and then.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'polling' | 'closed';
export type Ack = Omit<ServerFrameOf<'ack'>, 'type'>;
type SendableType = ClientFrameOf<'send_message'>['message_type'];

/**
 * An event handler property, checked bivariantly (as methods are), so that the browser's WebSocket
 * and `ws`'s, whose handlers take their own richer event types, both fit.
 */
type Handler<E> = { bivariant(event: E): void }['bivariant'] | null;

/** What the client needs of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown>;
  onmessage: Handler<{ data: unknown }>;
  onclose: Handler<unknown>;
  onerror: Handler<unknown>;
}

export interface ClientOptions {
  /** The WebSocket URL of the load balancer (or a gateway), `wss://chat.example/ws`; a function is asked on every connect. */
  url: string | (() => string);
  /** Base URL of the REST API; by default the WebSocket URL's origin over http(s). */
  apiUrl?: string;
  /**
   * The bearer token, or a function returning a fresh one. The function is called before every
   * connect; before the connection's token expires (the server closes the socket at its `exp`), its
   * fresh token then sent over the open socket, so a long-lived connection never drops for it; and
   * when a REST call (which reuses the latest token) is refused with AUTH_TOKEN_EXPIRED.
   */
  token: string | (() => string | Promise<string>);
  /** How long before the token expires a fresh one is asked for (at most half its remaining life). */
  tokenRefreshMarginMs?: number;
  /** The WebSocket class; the global one by default (pass `ws`'s in Node 20). */
  WebSocket?: new (url: string) => SocketLike;
  /** Reconnect backoff: full jitter over an exponential ceiling. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Most sends waiting for their ack (in flight or queued while offline); more are refused with QUEUE_FULL. */
  maxPendingSends?: number;
  /** Where to resume from, per room (say, saved by the application): chat id → last seq it has. */
  resume?: Record<number, number>;
  /** History page size used to catch up after `resume_too_far`. */
  historyPageSize?: number;
  /** How long a ping may wait for its pong before the connection is taken for dead (and dropped, not closed). */
  pongTimeoutMs?: number;
  /** How often the client pings an idle connection. */
  pingIntervalMs?: number;
  /** How long a send may wait with nothing at all heard from the server before the client pings at once. */
  ackProbeMs?: number;
  /** Consecutive WebSocket attempts that never open before the client falls back to polling. */
  fallbackAfterFailures?: number;
  /** How often rooms are polled in the fallback. */
  pollIntervalMs?: number;
}

/** The events a client emits, with their payloads. */
export interface ClientEvents {
  state: ConnectionState;
  welcome: ServerFrameOf<'welcome'>;
  message: ServerFrameOf<'message'>;
  message_edited: ServerFrameOf<'message_edited'>;
  message_deleted: ServerFrameOf<'message_deleted'>;
  chat_added: ServerFrameOf<'chat_added'>;
  /**
   * The room's head went back to `head_seq` (the server's Redis lost its newest events): messages
   * after it that were delivered no longer exist, and the room's next messages reuse their seqs.
   */
  chat_rewound: ServerFrameOf<'chat_rewound'>;
  read_state: ServerFrameOf<'read_state'>;
  read_receipt: ServerFrameOf<'read_receipt'>;
  delivery_receipt: ServerFrameOf<'delivery_receipt'>;
  presence: ServerFrameOf<'presence'>;
  typing: ServerFrameOf<'typing'>;
  /** An error frame that answers no send (a refused mark_read, say). */
  error: ServerFrameOf<'error'>;
  /**
   * A send was refused for now (the rate limit, or a backend that cannot take it yet: a failover):
   * it goes again, with its client_id, after `retry_after_ms`; its promise is still pending.
   */
  send_retrying: { client_id: string; chat_id: number; code: string; retry_after_ms: number };
}
type Listener<K extends keyof ClientEvents> = (payload: ClientEvents[K]) => void;

/**
 * Refusals of a send that pass by themselves: the send goes again after the server's
 * `retry_after_ms` (a send refused with SERVICE_UNAVAILABLE may have been stored after all; its
 * resend is then answered with the original ack).
 */
const RETRYABLE = new Set<string>(['RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'MESSAGE_BACKLOG_FULL']);

/** The frame types of room events (RoomEventFrame), which go through the room's delivery gate. */
const ROOM_EVENTS = new Set<ServerFrameType>(['message', 'message_edited', 'message_deleted']);

interface PendingSend {
  frame: ClientFrame & { type: 'send_message' };
  /** Written on the current socket and not yet answered. */
  sent: boolean;
  resolve: (ack: Ack) => void;
  reject: (err: ParleyRequestError) => void;
}

const OPEN = 1;

/**
 * A Parley connection that stays up: it reconnects with backoff, resumes every room from the last
 * seq it delivered (so the application sees each event once, in order, across reconnects), pages
 * history when the server says the gap is too long, and re-sends unacknowledged messages with the
 * same client_id (the server answers a repeat with the original ack).
 */
export class ParleyClient {
  state: ConnectionState = 'closed';
  private socket: SocketLike | undefined;
  private attempt = 0;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongDeadline: ReturnType<typeof setTimeout> | undefined;
  private ackProbe: ReturnType<typeof setTimeout> | undefined;
  /** When the server was last heard from on the current socket. */
  private heardAt = 0;
  /** Whether the current socket ever opened. */
  private socketOpened = false;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();
  /** The welcome's epoch (which Redis the seqs come from), told back on resume. */
  private epoch: string | undefined;
  /** Each room's delivery to the application, in order and once, across reconnects and catch-ups. */
  private readonly rooms: RoomFeeds;
  private readonly pending = new Map<string, PendingSend>();
  /** REST calls, with the latest token (the socket asks it for tokens too). */
  private readonly rest: RestApi;
  /** WebSocket attempts in a row that never opened. */
  private failedOpens = 0;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Set once the server refused a send for now (RETRYABLE): the waiting sends then go one at a time,
   * in order, the next after the previous one's ack, and a refused one again after the wait the
   * server names; until none waits.
   */
  private paced = false;
  private paceTimer: ReturnType<typeof setTimeout> | undefined;
  private polling: Promise<void> | undefined;
  private readonly options: Required<
    Pick<
      ClientOptions,
      | 'maxPendingSends'
      | 'historyPageSize'
      | 'pongTimeoutMs'
      | 'pingIntervalMs'
      | 'ackProbeMs'
      | 'fallbackAfterFailures'
      | 'pollIntervalMs'
      | 'tokenRefreshMarginMs'
    >
  > &
    ClientOptions;

  constructor(options: ClientOptions) {
    this.options = {
      maxPendingSends: 1000,
      historyPageSize: 100,
      pongTimeoutMs: 10_000,
      pingIntervalMs: 25_000,
      ackProbeMs: 3000,
      fallbackAfterFailures: 3,
      pollIntervalMs: 2000,
      tokenRefreshMarginMs: 60_000,
      ...options,
    };
    this.rest = new RestApi(() => this.apiUrl(), options.token);
    this.rooms = new RoomFeeds(this.rest, this.options.historyPageSize, (frame) => this.emit(frame.type, frame));
    for (const [room, seq] of Object.entries(options.resume ?? {})) this.rooms.start(Number(room), seq);
  }

  on<K extends keyof ClientEvents>(event: K, listener: Listener<K>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return () => set.delete(listener);
  }

  /** Opens the connection; it then stays up until `close()`. */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.open();
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pollTimer);
    clearTimeout(this.paceTimer);
    this.stopSocketTimers();
    this.socket?.close(1000, 'client closed');
    this.socket = undefined;
    this.setState('closed');
    for (const [id, p] of this.pending) {
      p.reject(new ParleyRequestError('CLIENT_CLOSED', 'the client was closed before the ack'));
      this.pending.delete(id);
    }
  }

  /** The last seq the application has seen of each room: save it to resume from after a restart. */
  positions(): Record<number, number> {
    return this.rooms.positions();
  }

  /**
   * Sends a message; resolves with its ack once durable, or rejects with the server's error. While
   * disconnected it waits, and it is re-sent with the same client_id after every reconnect until
   * acked; one refused for now (the rate limit, a failover: `send_retrying`) is sent again after the
   * wait the server names (and the sends after it wait their turn, so they keep their order). `fileId` attaches a file uploaded to the room (see `upload`); `content` is then a caption.
   */
  send(chatId: number, content: string, options: { messageType?: SendableType; clientId?: string; fileId?: string } = {}): Promise<Ack> {
    if (this.pending.size >= this.options.maxPendingSends) return Promise.reject(new ParleyRequestError('QUEUE_FULL', 'too many sends await their ack'));
    const clientId = options.clientId ?? randomId();
    const frame = {
      type: 'send_message' as const,
      client_id: clientId,
      chat_id: chatId,
      message_type: options.messageType ?? 'text',
      content,
      ...(options.fileId ? { file_id: options.fileId } : {}),
    };
    return new Promise<Ack>((resolve, reject) => {
      const p = { frame, sent: false, resolve, reject };
      this.pending.set(clientId, p);
      if (this.state === 'open' && !this.paced) this.transmit(p);
      else if (this.state === 'polling') void this.poll();
    });
  }

  /** Uploads files to a room (members only); each comes back with its id, sniffed type and download URL. */
  async upload(chatId: number, files: Array<{ data: Blob; name: string }>): Promise<FileInfo[]> {
    const form = new FormData();
    for (const { data, name } of files) form.append('file', data, name);
    return (await this.rest.fetchJson<UploadResult>(`/api/chats/${chatId}/files`, { method: 'POST', headers: {}, body: form })).files;
  }

  /**
   * Uploads one file and sends it as a message whose type follows the file's sniffed type (image,
   * audio, video, else file), with an optional caption.
   */
  async sendFile(chatId: number, data: Blob, name: string, options: { caption?: string; clientId?: string } = {}): Promise<Ack & { file: FileInfo }> {
    const [file] = await this.upload(chatId, [{ data, name }]);
    const kind = /^(image|audio|video)\//.exec(file!.mime_type)?.[1] as SendableType | undefined;
    const ack = await this.send(chatId, options.caption ?? '', { messageType: kind ?? 'file', fileId: file!.id, clientId: options.clientId });
    return { ...ack, file: file! };
  }

  /** A file's bytes (members of its room only), from its `url` (an attachment's or an upload's). */
  async download(file: { url: string }): Promise<Blob> {
    return (await this.rest.fetchAuthorized(file.url, { headers: {} })).blob();
  }

  /**
   * Tells the sender of a direct room that this client has received it up to seq (they see their
   * messages delivered). Dropped while disconnected; the server ignores a position that goes back.
   */
  markReceived(chatId: number, seq: number): void {
    this.writeIfOpen({ type: 'received', chat_id: chatId, seq });
  }

  /** Marks the room read up to seq (default: its newest event). Dropped while disconnected. */
  markRead(chatId: number, seq?: number): void {
    if (this.state === 'polling') {
      this.rest.request('PUT', `/api/chats/${chatId}/read`, seq ? { seq } : {}).catch(() => undefined);
      return;
    }
    this.writeIfOpen({ type: 'mark_read', chat_id: chatId, ...(seq ? { seq } : {}) });
  }

  typing(chatId: number, state: 'start' | 'stop'): void {
    this.writeIfOpen({ type: 'typing', chat_id: chatId, state });
  }

  setPresence(state: 'online' | 'away'): void {
    this.writeIfOpen({ type: 'set_presence', state });
  }

  /** A REST call with the client's token; rejects with ParleyRequestError on an error status. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.rest.request<T>(method, path, body);
  }

  /** One page of a room's history (newest first): before a seq, or after one. */
  history(chatId: number, page: { before?: number; after?: number; limit?: number } = {}): Promise<HistoryPage> {
    return this.rest.history(chatId, page);
  }

  // ---- connection ------------------------------------------------------------------------------

  private async open(): Promise<void> {
    if (this.stopped) return;
    if (this.state !== 'polling') this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket: SocketLike;
    try {
      const url = new URL(typeof this.options.url === 'function' ? this.options.url() : this.options.url);
      url.searchParams.set('token', await this.rest.freshToken());
      // Closed while the token was on its way: no socket, or it would stay open with no one to close it.
      if (this.stopped) return;
      const Socket = this.options.WebSocket ?? (globalThis as unknown as { WebSocket: new (url: string) => SocketLike }).WebSocket;
      socket = new Socket(url.toString());
    } catch {
      return this.scheduleReconnect();
    }
    this.socket = socket;
    this.socketOpened = false;
    socket.onopen = () => {
      this.socketOpened = true;
      this.failedOpens = 0;
      const resume = Object.entries(this.rooms.positions())
        .slice(0, 2000)
        .map(([chat_id, last_seq]) => ({ chat_id: Number(chat_id), last_seq }));
      socket.send(JSON.stringify({ type: 'hello', ...(resume.length ? { resume, ...(this.epoch ? { epoch: this.epoch } : {}) } : {}) }));
    };
    // Frames still arriving on a socket this client closed or replaced are not its own any more
    // (they would re-arm the heartbeat of a closed client, and keep its process alive).
    socket.onmessage = (event) => {
      if (this.socket === socket) this.receive(JSON.parse(String(event.data)) as ServerFrame);
    };
    socket.onerror = () => undefined; // onclose follows
    socket.onclose = () => {
      if (this.socket === socket) this.lose();
    };
  }

  /** The socket is gone (closed, or taken for dead): unanswered sends go again on the next one. */
  private lose(): void {
    this.socket = undefined;
    this.stopSocketTimers();
    for (const p of this.pending.values()) p.sent = false;
    if (!this.socketOpened && ++this.failedOpens >= this.options.fallbackAfterFailures && this.state !== 'polling') this.startPolling();
    this.scheduleReconnect();
  }

  /**
   * A ping went unanswered: the connection is taken for dead at once. On a network that is gone
   * (a half-open connection) a close handshake never ends and no close event comes, so the socket
   * is dropped, its close only started, and its late events are ignored.
   */
  private drop(socket: SocketLike): void {
    if (this.socket !== socket) return;
    this.lose();
    socket.close(4000, 'no pong');
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    if (this.state !== 'polling') this.setState('reconnecting');
    const { initialDelayMs = 250, maxDelayMs = 15_000 } = this.options.reconnect ?? {};
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** this.attempt);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => void this.open(), Math.random() * ceiling);
  }

  private receive(frame: ServerFrame): void {
    this.armHeartbeat();
    switch (frame.type) {
      case 'welcome':
        this.attempt = 0;
        clearTimeout(this.pollTimer);
        this.pollTimer = undefined;
        // Rooms not resumed go live from their head: that is where the application starts them.
        for (const chat of frame.chats) this.rooms.start(chat.chat_id, chat.head_seq);
        this.epoch = frame.epoch;
        this.setState('open');
        this.scheduleRefresh(frame.token_expires_at);
        this.emit('welcome', frame);
        if (this.paced) this.sendNextPaced();
        else for (const p of this.pending.values()) this.transmit(p);
        return;
      case 'ack': {
        const p = this.pending.get(frame.client_id);
        if (!p) return;
        this.pending.delete(frame.client_id);
        const { type: _type, ...ack } = frame;
        p.resolve(ack);
        if (this.paced && !this.paceTimer) this.sendNextPaced();
        return;
      }
      case 'error': {
        const p = frame.client_id ? this.pending.get(frame.client_id) : undefined;
        if (!p) return this.emit('error', frame);
        if (RETRYABLE.has(frame.code) && frame.retry_after_ms !== undefined) {
          p.sent = false;
          this.emit('send_retrying', { client_id: p.frame.client_id, chat_id: p.frame.chat_id, code: frame.code, retry_after_ms: frame.retry_after_ms });
          this.paced = true;
          clearTimeout(this.paceTimer);
          this.paceTimer = setTimeout(() => {
            this.paceTimer = undefined;
            this.sendNextPaced();
          }, frame.retry_after_ms);
          return;
        }
        this.pending.delete(frame.client_id!);
        p.reject(new ParleyRequestError(frame.code, frame.message));
        if (this.paced && !this.paceTimer) this.sendNextPaced();
        return;
      }
      case 'chat_added':
        this.rooms.start(frame.chat_id, frame.head_seq);
        return this.emit('chat_added', frame);
      case 'chat_rewound':
        if (this.rooms.rewind(frame.chat_id, frame.head_seq)) this.emit('chat_rewound', frame);
        return;
      case 'resume_too_far':
        void this.rooms.catchUp(frame.chat_id, frame.head_seq);
        return;
      case 'token_refreshed':
        return this.scheduleRefresh(frame.expires_at);
      case 'pong':
        return;
      default:
        if (ROOM_EVENTS.has(frame.type)) return this.rooms.offer(frame as RoomEventFrame);
        this.emit(frame.type, frame);
    }
  }

  // ---- polling fallback -----------------------------------------------------------------------

  /**
   * No WebSocket opens: poll the rooms' heads and page what is new through history, send over REST
   * (the same client_ids, so a send acked over the socket is not stored twice), and keep retrying
   * the WebSocket in the background; its welcome ends the polling.
   */
  private startPolling(): void {
    this.setState('polling');
    void this.poll();
  }

  private poll(): Promise<void> {
    this.polling ??= this.pollOnce()
      .catch(() => undefined)
      .finally(() => {
        this.polling = undefined;
        if (this.state === 'polling' && !this.stopped) {
          clearTimeout(this.pollTimer);
          this.pollTimer = setTimeout(() => void this.poll(), this.options.pollIntervalMs);
        }
      });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    for (const [clientId, p] of this.pending) {
      const { type: _type, chat_id, ...body } = p.frame;
      try {
        const ack = await this.rest.request<Ack>('POST', `/api/chats/${chat_id}/messages`, body);
        this.pending.delete(clientId);
        p.resolve(ack);
      } catch (err) {
        // Not the message's fault: it stays, and goes again on the next poll.
        if (!(err instanceof ParleyRequestError) || err.code === 'HTTP_ERROR' || err.code === 'RATE_LIMITED' || (err.status ?? 500) >= 500) throw err;
        this.pending.delete(clientId);
        p.reject(err);
      }
    }
    const { chats } = await this.rest.request<{ chats: Array<{ id: number; head_seq: number }> }>('GET', '/api/chats?limit=100');
    for (const chat of chats) {
      if (this.rooms.behind(chat.id, chat.head_seq)) await this.rooms.catchUp(chat.id, chat.head_seq);
      else this.rooms.start(chat.id, chat.head_seq);
    }
  }

  // ---- plumbing --------------------------------------------------------------------------------

  private transmit(p: PendingSend): void {
    p.sent = this.socket?.readyState === OPEN;
    this.write(p.frame);
    if (p.sent) this.armAckProbe();
  }

  /** A send in flight and nothing heard for ackProbeMs: the connection is checked at once. */
  private armAckProbe(after = this.options.ackProbeMs): void {
    this.ackProbe ??= setTimeout(() => {
      this.ackProbe = undefined;
      if (![...this.pending.values()].some((p) => p.sent)) return;
      const quiet = Date.now() - this.heardAt;
      if (quiet >= this.options.ackProbeMs) this.ping();
      else this.armAckProbe(this.options.ackProbeMs - quiet);
    }, after);
  }

  /** Paced sending: the oldest waiting send goes, unless one is still unanswered; none left ends it. */
  private sendNextPaced(): void {
    if (this.state !== 'open') return;
    const waiting = [...this.pending.values()];
    if (waiting.some((p) => p.sent)) return;
    if (waiting.length === 0) this.paced = false;
    else this.transmit(waiting[0]!);
  }

  private write(frame: ClientFrame): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  private writeIfOpen(frame: ClientFrame): void {
    if (this.state === 'open') this.write(frame);
  }

  /**
   * Something came from the server: the connection lives. A quiet one is pinged, and so is one
   * with a send in flight that stays quiet for ackProbeMs; one whose pong does not come is dropped.
   */
  private armHeartbeat(): void {
    clearTimeout(this.pongDeadline);
    this.pongDeadline = undefined;
    this.heardAt = Date.now();
    this.pingTimer ??= setInterval(() => this.ping(), this.options.pingIntervalMs);
  }

  private ping(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    this.write({ type: 'ping' });
    this.pongDeadline ??= setTimeout(() => this.drop(socket), this.options.pongTimeoutMs);
  }

  /** Asks for a fresh token before `expiresAt` and sends it over this socket (when the token option is a function). */
  private scheduleRefresh(expiresAt: string): void {
    clearTimeout(this.refreshTimer);
    if (typeof this.options.token !== 'function') return;
    const left = Date.parse(expiresAt) - Date.now();
    const delay = Math.max(0, left - Math.min(this.options.tokenRefreshMarginMs, left / 2));
    const socket = this.socket;
    // A timer holds at most 2^31-1 ms (about 24.8 days): a longer-lived token is refreshed early.
    this.refreshTimer = setTimeout(
      () => {
        // A failed refresh is not fatal: at the exp the server closes the socket, and the reconnect asks again.
        this.rest
          .freshToken()
          .then((token) => this.socket === socket && this.write({ type: 'refresh_token', token }))
          .catch(() => undefined);
      },
      Math.min(delay, 2 ** 31 - 1),
    );
  }

  /** Timers that belong to one socket. */
  private stopSocketTimers(): void {
    clearTimeout(this.refreshTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongDeadline);
    clearTimeout(this.ackProbe);
    this.pingTimer = undefined;
    this.pongDeadline = undefined;
    this.ackProbe = undefined;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private emit<K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as Listener<K>)(payload);
  }

  private apiUrl(): string {
    if (this.options.apiUrl) return this.options.apiUrl;
    const ws = new URL(typeof this.options.url === 'function' ? this.options.url() : this.options.url);
    return `${ws.protocol === 'wss:' ? 'https:' : 'http:'}//${ws.host}`;
  }
}

function randomId(): string {
  return `c-${globalThis.crypto.randomUUID()}`;
}
