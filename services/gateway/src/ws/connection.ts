import type { WebSocket } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import { closeCodes, DeliveryGate, membershipEndOf, ParleyError, type CloseCodeName, type ServerFrame } from '@parley/protocol';
import type { GatewayCore } from '../core.js';
import type { Caller } from '../plugins/auth.js';
import type { RoomListener } from '../relay/room-hub.js';
import type { UserControl, UserListener } from '../relay/user-hub.js';
import { textFrame, writeFrame, type Frame } from './frame-writer.js';

/**
 * A room this socket receives: its cursor is the highest seq written to the socket (infinite once
 * the caller's membership ended); live events are held while the room is replayed on attach.
 */
type RoomGate = DeliveryGate<RoomItem>;

/** An event of a room on its way to one socket: `endsFor` names whose membership it ends, if any. */
interface RoomItem {
  roomId: number;
  frame: Frame;
  endsFor: string | undefined;
}

/** Live events a socket may hold back while one room is backfilled, before it is dropped. */
const BACKFILL_BUFFER_MAX = 10_000;

/** The hello timeout's callback, one function for every socket (no closure kept per socket while it waits). */
function helloTimedOut(conn: Connection): void {
  conn.close('HELLO_TIMEOUT');
}

/**
 * One authenticated socket: the rooms it receives, each with the highest seq written to it, so
 * that backfilled and live events meet with no gap and no duplicate.
 */
export class Connection implements RoomListener, UserListener {
  readonly rooms = new Map<number, RoomGate>();
  helloReceived = false;
  closed = false;
  /** This socket's state in its user's presence (from hello on). */
  private presence: 'online' | 'away' | undefined;
  private helloTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    /** From the token the socket opened with, then from each refreshed one. */
    public caller: Caller,
    private readonly ws: WebSocket,
    readonly core: GatewayCore,
    /** Verifies a refreshed token (the auth plugin's verifyToken). */
    readonly verifyToken: (token: string) => Promise<Caller>,
  ) {}

  /**
   * A logger bound to this connection, made when something is logged: a child logger kept per
   * socket would cost every idle connection its memory.
   */
  get log(): FastifyBaseLogger {
    return this.core.log.child({ conn: this.id, user: this.caller.id });
  }

  /** Closes the socket with 4101 unless hello arrives within `ms`. */
  expectHello(ms: number): void {
    this.helloTimer = setTimeout(helloTimedOut, ms, this);
  }

  /** Records hello (once per connection) and stops the hello timeout. */
  acceptHello(): void {
    if (this.helloReceived) throw new ParleyError('FRAME_HELLO_REPEATED');
    this.helloReceived = true;
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
  }

  /**
   * The connection goes on under a refreshed token, which must name the same user. The endpoint's
   * expiry sweep closes the socket with 4102 once `caller.expiresAt` has passed.
   */
  renew(caller: Caller): void {
    if (caller.id !== this.caller.id) throw new ParleyError('AUTH_SUBJECT_CHANGED');
    this.caller = caller;
  }

  send(frame: ServerFrame): void {
    this.write(textFrame(JSON.stringify(frame)));
  }

  /** Writes a framed message, closing the socket instead when the peer does not read fast enough. */
  private write(frame: Frame): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.core.config.ws.sendBufferMaxBytes) {
      this.close('SLOW_CONSUMER');
      return;
    }
    writeFrame(this.ws, frame);
    this.core.metrics.frameSent(frame.type);
  }

  close(name: CloseCodeName): void {
    if (this.closed) return;
    const { code, reason } = closeCodes[name];
    this.log.info({ code, reason }, 'closing socket');
    this.core.metrics.socketCloses.labels(name).inc();
    this.ws.close(code, reason);
    this.detach();
  }

  deliver(roomId: number, seq: number, frame: Frame, endsFor: string | undefined): void {
    const gate = this.rooms.get(roomId);
    if (!gate) return;
    if (gate.heldCount >= BACKFILL_BUFFER_MAX) return this.close('SLOW_CONSUMER');
    gate.offer(seq, { roomId, frame, endsFor });
  }

  /**
   * What every room gate of this socket delivers through (one function per socket, not one per
   * room): each event once, in order. After the event that ends the caller's membership, the room
   * writes nothing more.
   */
  private readonly writeEvent = (_seq: number, { roomId, frame, endsFor }: RoomItem): void => {
    this.write(frame);
    if (endsFor === '*' || endsFor === this.caller.id) {
      const gate = this.rooms.get(roomId);
      if (gate) this.endRoom(roomId, gate);
    }
  };

  /** The caller is no longer a member: nothing more of the room is written, even what is in flight. */
  private endRoom(roomId: number, gate: RoomGate): void {
    gate.skipTo(Number.POSITIVE_INFINITY);
    this.rooms.delete(roomId);
    this.core.roomHub.leave(roomId, this);
  }

  /** Events after `head` that this socket was sent are gone: it is told, and goes on from `head`. */
  rewound(roomId: number, head: number): void {
    if (this.rooms.get(roomId)?.rewind(head)) this.send({ type: 'chat_rewound', chat_id: roomId, head_seq: head });
  }

  /** A signal of the room (a receipt): not part of its order, written as it comes while the room is received. */
  signal(roomId: number, frame: Frame): void {
    if (this.rooms.has(roomId)) this.write(frame);
  }

  control(message: UserControl): void {
    if (message.type === 'read_state') return this.send(message);
    if (message.type === 'chat_added' && !this.rooms.has(message.chat_id)) {
      this.attach(message.chat_id, message.head_seq)
        .then(() => this.send(message))
        .catch((err: Error) => this.log.error({ err: err.message }, 'attaching an added room failed'));
    }
  }

  /**
   * Starts receiving a room after `lastSeq`: subscribe first (buffering live events), replay the
   * gap from the log and Postgres, then flush the buffer, skipping what the replay already wrote.
   * A gap longer than the replay maximum is not replayed: the client is told to page history.
   */
  async attach(roomId: number, lastSeq: number): Promise<void> {
    const gate: RoomGate = new DeliveryGate(lastSeq, this.writeEvent);
    gate.hold();
    this.rooms.set(roomId, gate);
    let subscribedAt: number | undefined;
    try {
      subscribedAt = await this.core.roomHub.join(roomId, this);
    } catch (err) {
      this.rooms.delete(roomId);
      throw err;
    }
    if (this.closed) return;
    const head = subscribedAt ?? (await this.core.roomEvents.head(roomId));
    if (head - lastSeq > this.core.config.resumeMaxEvents) {
      // The skipped range may hold the end of this membership: ask the members cache, which a
      // membership change updates in the same step as it appends its system message.
      if (!(await this.core.membership.isMember(roomId, this.caller.id))) return this.endRoom(roomId, gate);
      this.send({ type: 'resume_too_far', chat_id: roomId, last_seq: lastSeq, head_seq: head });
      gate.skipTo(head);
    } else {
      for (const { seq, event } of await this.core.roomEvents.range(roomId, lastSeq + 1, head)) {
        gate.fill(seq, { roomId, frame: textFrame(event), endsFor: membershipEndOf(event) });
      }
    }
    gate.release();
  }

  /** This socket's presence, from hello to close; the user's is aggregated over all their sockets. */
  async setPresence(state: 'online' | 'away'): Promise<void> {
    if (this.closed) return;
    const from = this.presence;
    this.presence = state;
    await this.core.presence.update(this.caller.id, from, state, [...this.rooms.keys()]);
  }

  /** Stops all relaying to this socket. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.presence) {
      this.core.presence
        .update(this.caller.id, this.presence, undefined, [...this.rooms.keys()])
        .catch((err: Error) => this.log.warn({ err: err.message }, 'presence update failed'));
    }
    clearTimeout(this.helloTimer);
    for (const roomId of this.rooms.keys()) this.core.roomHub.leave(roomId, this);
    this.rooms.clear();
    this.core.userHub.leave(this.caller.id, this);
  }
}
