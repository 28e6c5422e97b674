import WebSocket from 'ws';
import type { ClientFrame, ServerFrame, ServerFrameOf, ServerFrameType } from '@parley/protocol';
import { noteSentText } from './log-scan.js';

export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused with ${status}: ${body}`);
  }
}

/**
 * A raw protocol client for tests: every received frame is kept in order, and any frame can be
 * awaited by predicate (already received or still to come).
 */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ test: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString()) as ServerFrame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => (w.test(frame) ? (w.resolve(frame), false) : true));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a socket; rejects with HandshakeRefused when the server answers the upgrade with an HTTP error. */
  static connect(url: string, token?: string, via: 'header' | 'query' = 'header', origin?: string): Promise<TestClient> {
    const target = token && via === 'query' ? `${url}?token=${encodeURIComponent(token)}` : url;
    const headers = { ...(token && via === 'header' ? { authorization: `Bearer ${token}` } : {}), ...(origin ? { origin } : {}) };
    const ws = new WebSocket(target, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new HandshakeRefused(res.statusCode ?? 0, body)));
      });
      ws.once('error', reject);
    });
  }

  /** Connects and completes hello; resolves with the welcome frame. */
  static async open(url: string, token: string, resume?: Array<{ chat_id: number; last_seq: number }>) {
    const client = await TestClient.connect(url, token);
    client.send({ type: 'hello', ...(resume ? { resume } : {}) });
    const welcome = await client.next('welcome');
    return { client, welcome };
  }

  send(frame: ClientFrame): void {
    noteSentText((frame as { content?: unknown }).content);
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /**
   * The first frame that passes `test`, among those received from index `from` on or still to
   * come; rejects after timeoutMs.
   */
  find(test: (f: ServerFrame) => boolean, timeoutMs = 15_000, from = 0): Promise<ServerFrame> {
    const seen = this.frames.slice(from).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms; last frames: ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      const waiter = { test, resolve: (f: ServerFrame) => (clearTimeout(timer), resolve(f)) };
      this.waiters.push(waiter);
    });
  }

  /** The first frame of this type matching `where`, already received or still to come. */
  async next<K extends ServerFrameType>(type: K, where: (f: ServerFrameOf<K>) => boolean = () => true, timeoutMs = 15_000): Promise<ServerFrameOf<K>> {
    return await this.find((f) => f.type === type && where(f), timeoutMs);
  }

  /** Sends a message and waits for its ack or error frame. */
  async sendMessage(chatId: number, content: string, clientId: string): Promise<ServerFrameOf<'ack'> | ServerFrameOf<'error'>> {
    const from = this.frames.length;
    this.send({ type: 'send_message', chat_id: chatId, client_id: clientId, message_type: 'text', content });
    return (await this.find((f) => (f.type === 'ack' || f.type === 'error') && f.client_id === clientId, 15_000, from)) as
      ServerFrameOf<'ack'> | ServerFrameOf<'error'>;
  }

  /** Message events received for one room, in arrival order. */
  messages(chatId: number): Array<ServerFrameOf<'message'>> {
    return this.frames.filter((f): f is ServerFrameOf<'message'> => f.type === 'message' && f.chat_id === chatId);
  }

  /** Resolves once this client has received the message with this seq in the room. */
  waitForSeq(chatId: number, seq: number, timeoutMs = 20_000) {
    return this.next('message', (f) => f.chat_id === chatId && f.seq >= seq, timeoutMs);
  }

  /**
   * Resolves once every frame the server wrote to this socket before now has arrived: a pong
   * follows them. With it a test asserts that nothing arrived, without sleeping.
   */
  async barrier(): Promise<void> {
    const from = this.frames.length;
    this.send({ type: 'ping' });
    await this.find((f) => f.type === 'pong', 15_000, from);
  }

  /**
   * Closes the socket and resolves with how it closed. A close handshake that does not end within
   * 5 s is cut (a CI run once waited on one until tap's timeout).
   */
  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    const cut = setTimeout(() => this.ws.terminate(), 5000);
    return this.closed.finally(() => clearTimeout(cut));
  }
}
