import WebSocket from 'ws';
import { ParleyClient } from '@parley/client';
import { eventually } from './eventually.js';
import { noteSentText } from './log-scan.js';
import type { Stack, Teardown } from './stack.js';

/** What the checker needs of a tap test: assertions and a place to print its figures. */
export interface Assertions {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  same(found: unknown, wanted: unknown, message: string): unknown;
  comment(...message: unknown[]): unknown;
}

export interface ChatLoadOptions {
  /** Each room and its members; every member sends to each of its rooms in turn. */
  rooms: Map<number, string[]>;
  /** The load balancer: asked for a WebSocket URL on every connect (of `user`'s client). */
  url: (user: string) => string;
  /** Sends each client keeps in flight (each waits for its ack before the next is sent). */
  inFlight?: number;
  /** Sends per second of each lane; unset, each lane sends as fast as acks come back. */
  perSecond?: number;
  /** Each message's text is padded to at least this many characters. */
  contentChars?: number;
}

interface Sender {
  user: string;
  client: ParleyClient;
  /** Per room, the message events the application saw: the SDK's dedup and resume included. */
  received: Map<number, Array<{ seq: number; id: string }>>;
  welcomes: number;
  /** chat_rewound events seen: the room and the head the client goes on from. */
  rewound: Array<{ room: number; headSeq: number }>;
  /** Per room, the id of every message event the application was ever given, rewound ones too. */
  given: Map<number, Set<string>>;
}

export interface Ack {
  room: number;
  id: string;
  seq: number;
  user: string;
  clientId: string;
  /** When the ack came (Date.now()). */
  at: number;
}

export interface DeliveryFigures {
  attempted: number;
  acked: number;
  /** Sends that ended in an error frame: their effect is unknown to the sender. */
  refused: number;
  stored: number;
  lost: number;
  duplicated: number;
  /** Stored without an ack reaching the sender (refused or cut off): the checker's "recovered". */
  recovered: number;
  /** Member × room pairs whose client saw the room's seqs 1..head once each, in order. */
  inOrder: number;
  receivers: number;
  reconnects: number;
  /** chat_rewound events the clients got, over all of them. */
  rewinds: number;
  /** Client × lost message pairs where the client had been given the lost message (with `loss: 'counted'`). */
  givenLost: number;
}

export interface CheckOptions {
  /** How long the persisters may take to drain, and each client to catch up. */
  drainMs?: number;
  /**
   * 'none' (the default): every acked message must be stored. 'counted': acked messages may be
   * lost (a Redis failover without WAIT): they are counted, and each client that had been given one
   * must have been told (chat_rewound below its seq); `lostAfter` names a time after which nothing
   * acked may be lost (the failover's end: a seq handed out again would be).
   */
  loss?: 'none' | 'counted';
  lostAfter?: number;
}

/**
 * Load in the style of a Jepsen total-queue test: SDK clients (reconnect, resume, re-send with the
 * same client_id) send to their rooms without pause through `url`, recording every ack and every
 * message event their application saw. `check` then accounts, after a full drain, for each acked
 * message in Postgres and at every member's client.
 */
export class ChatLoad {
  readonly acked: Ack[] = [];
  /** Refused sends, as `user: CODE`. */
  readonly errors: string[] = [];
  /** Sends refused for now and sent again by the SDK (`send_retrying`), as `user: CODE`. */
  readonly retries: string[] = [];
  private attempted = 0;
  private readonly sent = new Map<string, string>();
  private running = true;
  private readonly senders: Sender[];
  private loops: Array<Promise<void>> = [];

  private constructor(
    private readonly stack: Stack,
    private readonly options: ChatLoadOptions,
  ) {
    const users = [...new Set([...options.rooms.values()].flat())];
    this.senders = users.map((user) => {
      const client = new ParleyClient({
        url: () => options.url(user),
        token: () => stack.token(user),
        WebSocket: WebSocket,
        reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
        fallbackAfterFailures: 1_000_000,
      });
      const sender: Sender = { user, client, received: new Map(), welcomes: 0, rewound: [], given: new Map() };
      client.on('send_retrying', (r) => this.retries.push(`${user}: ${r.code}`));
      client.on('message', (m) => {
        const seen = sender.received.get(m.chat_id) ?? [];
        seen.push({ seq: m.seq, id: m.id });
        sender.received.set(m.chat_id, seen);
        const given = sender.given.get(m.chat_id) ?? new Set();
        sender.given.set(m.chat_id, given.add(m.id));
      });
      // As the protocol asks of an application: what followed head_seq may be gone, and what
      // comes next replaces it (Redis lost events it had published: a restart, a failover).
      client.on('chat_rewound', (f) => {
        sender.rewound.push({ room: f.chat_id, headSeq: f.head_seq });
        sender.received.set(
          f.chat_id,
          (sender.received.get(f.chat_id) ?? []).filter((m) => m.seq <= f.head_seq),
        );
      });
      return sender;
    });
  }

  /**
   * The fault tests' load: `rooms` group rooms with every one of `users` in each (the first
   * creates them), the clients spread over the stack's gateways in turn, two sends in flight each;
   * closed with the test. Resolves once 300 sends were acked.
   */
  static async inRooms(t: Teardown, stack: Stack, users: string[], rooms: number): Promise<{ load: ChatLoad; rooms: number[] }> {
    const members = new Map<number, string[]>();
    for (let i = 0; i < rooms; i++) members.set(await stack.createGroup(users[0]!, users.slice(1)), users);
    let turn = 0;
    const load = await ChatLoad.start(stack, { rooms: members, url: () => stack.gateways[turn++ % stack.gateways.length]!.wsUrl, inFlight: 2 });
    t.teardown(() => load.close());
    await load.flowing(300, 'load flowing');
    return { load, rooms: [...members.keys()] };
  }

  /** Connects every member's client and starts sending once all are welcomed. */
  static async start(stack: Stack, options: ChatLoadOptions): Promise<ChatLoad> {
    const load = new ChatLoad(stack, options);
    await Promise.all(
      load.senders.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.client.on('welcome', () => (s.welcomes++, resolve()));
            s.client.connect();
          }),
      ),
    );
    load.loops = load.senders.flatMap((s) => Array.from({ length: options.inFlight ?? 1 }, (_, lane) => load.sendLoop(s, lane)));
    return load;
  }

  private async sendLoop(s: Sender, lane: number): Promise<void> {
    const rooms = [...this.options.rooms].filter(([, members]) => members.includes(s.user)).map(([room]) => room);
    const started = Date.now();
    const interval = this.options.perSecond ? 1000 / this.options.perSecond : 0;
    for (let i = 0; this.running; i++) {
      const due = started + i * interval - Date.now();
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      const room = rooms[i % rooms.length]!;
      const clientId = `${s.user}-${lane}-${i}`;
      this.attempted++;
      this.sent.set(clientId, s.user);
      try {
        const text = `${s.user} ${lane} ${i} `.padEnd(this.options.contentChars ?? 0, '.');
        noteSentText(text);
        const ack = await s.client.send(room, text, { clientId });
        this.acked.push({ room, id: ack.id, seq: ack.seq, user: s.user, clientId, at: Date.now() });
      } catch (err) {
        this.errors.push(`${s.user}: ${(err as { code?: string }).code ?? (err as Error).message}`);
      }
    }
  }

  /** Resolves once `count` more sends have been acked than when called. */
  async flowing(count: number, label: string, timeoutMs = 30_000): Promise<void> {
    const from = this.acked.length;
    await eventually(() => this.acked.length >= from + count, timeoutMs, label);
  }

  /** Message events delivered so far, over all clients and rooms. */
  delivered(): number {
    return this.senders.reduce((n, s) => n + [...s.received.values()].reduce((m, seen) => m + seen.length, 0), 0);
  }

  /** Reconnects seen so far, over all clients. */
  reconnects(): number {
    return this.senders.reduce((n, s) => n + s.welcomes - 1, 0);
  }

  /** Stops sending and waits for every send in flight to end (acked or refused). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  close(): void {
    for (const s of this.senders) s.client.close();
  }

  /**
   * The checker. Waits for the persisters to drain, then asserts and prints: lost 0 (every acked
   * message stored with its room and seq), duplicated 0 (no send stored twice, no seq stored twice),
   * and at every member's client each room's seqs 1..head once each, in order. Rows stored for a
   * send whose ack never came are counted as recovered, not lost. With `loss: 'counted'`, see
   * CheckOptions.
   */
  async check(t: Assertions, options: CheckOptions = {}): Promise<DeliveryFigures> {
    const { drainMs = 60_000, loss = 'none' } = options;
    await this.stop();
    const { stack } = this;
    await eventually(async () => (await stack.pendingCount()) === 0 && (await stack.streamLength()) === 0, drainMs, 'persisters drained');
    const rooms = [...this.options.rooms.keys()];
    const rows = await stack.db
      .selectFrom('messages')
      .select(['id', 'room_id', 'seq', 'sender_id', 'client_id'])
      .where('room_id', 'in', rooms)
      .where('type', '!=', 'system')
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const lost = this.acked.filter((a) => byId.get(a.id)?.room_id !== a.room || byId.get(a.id)?.seq !== a.seq);
    const sends = new Set(rows.map((r) => `${r.sender_id}/${r.client_id}`));
    const seqs = new Set(rows.map((r) => `${r.room_id}/${r.seq}`));
    const strangers = rows.filter((r) => this.sent.get(r.client_id) !== r.sender_id);
    const duplicated = rows.length - Math.min(sends.size, seqs.size);
    const ackedIds = new Set(this.acked.map((a) => a.id));
    const figures: DeliveryFigures = {
      attempted: this.attempted,
      acked: this.acked.length,
      refused: this.errors.length,
      stored: rows.length,
      lost: lost.length,
      duplicated,
      recovered: rows.filter((r) => !ackedIds.has(r.id)).length,
      inOrder: 0,
      receivers: 0,
      reconnects: this.reconnects(),
      rewinds: this.senders.reduce((n, x) => n + x.rewound.length, 0),
      givenLost: 0,
    };
    if (loss === 'none') t.equal(lost.length, 0, `lost: ${lost.length} of ${this.acked.length} acked`);
    else {
      t.comment(`lost: ${lost.length} of ${this.acked.length} acked`);
      const untold: string[] = [];
      for (const a of lost) {
        for (const s of this.senders.filter((x) => x.given.get(a.room)?.has(a.id))) {
          figures.givenLost++;
          if (!s.rewound.some((r) => r.room === a.room && r.headSeq < a.seq)) untold.push(`${s.user}: room ${a.room} seq ${a.seq}`);
        }
      }
      t.same(untold.slice(0, 10), [], `every client given a lost message was told (chat_rewound below its seq): ${figures.givenLost} given`);
      const late = lost.filter((a) => options.lostAfter !== undefined && a.at > options.lostAfter);
      t.same(late.map((a) => `room ${a.room} seq ${a.seq}`).slice(0, 10), [], 'nothing acked after the failover was lost: no seq handed out again');
    }
    t.equal(duplicated, 0, 'duplicated: no send stored twice, no seq stored twice');
    t.same(
      strangers.map((r) => r.id),
      [],
      'every stored message was sent by the load',
    );

    for (const [room, members] of this.options.rooms) {
      const inRoom = rows.filter((r) => r.room_id === room).map((r) => r.seq);
      const head = inRoom.length ? Math.max(...inRoom) : 0;
      t.equal(inRoom.length, head, `room ${room}: seqs 1..${head} stored without a gap`);
      for (const s of this.senders.filter((x) => members.includes(x.user))) {
        figures.receivers++;
        await eventually(() => (s.received.get(room)?.at(-1)?.seq ?? 0) >= head, drainMs, `${s.user} caught up in room ${room}`);
        const seen = s.received.get(room) ?? [];
        const inOrder = seen.every((m, i) => m.seq === i + 1 && byId.get(m.id)?.seq === m.seq && byId.get(m.id)?.room_id === room);
        if (inOrder && seen.length === head) figures.inOrder++;
        t.same(
          seen.map((m) => m.seq),
          Array.from({ length: head }, (_, i) => i + 1),
          `${s.user} saw room ${room}'s ${head} messages once each, in order`,
        );
      }
    }
    t.equal(figures.inOrder, figures.receivers, 'every receiver saw the stored message at each seq');
    t.comment(
      `checker: ${Object.entries(figures)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    return figures;
  }
}
