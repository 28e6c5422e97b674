import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import fastifyWebsocket from '@fastify/websocket';
import type { RawData, WebSocket } from 'ws';
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { ParleyError, type ServerFrameOf } from '@parley/protocol';
import type { GatewayConfig } from '../config.js';
import { isUnavailable } from '../plugins/errors.js';
import { Connection } from './connection.js';
import { decodeFrame, FrameRefused, routeFrame } from './frame-router.js';
import { onRevoked } from '../users/revocations.js';
import { MessageRate } from './message-rate.js';
import { sendTimedOut } from '../messages/send-deadline.js';

/** Frames read from one socket and not yet handled before the socket stops being read (TCP backpressure). */
const MAX_FRAMES_IN_FLIGHT = 64;

function errorFrame(err: unknown, conn: Connection, clientId?: string): ServerFrameOf<'error'> {
  let error: ParleyError;
  if (err instanceof ParleyError) error = err;
  else if (isUnavailable(err)) error = new ParleyError('SERVICE_UNAVAILABLE');
  else {
    conn.log.error({ err }, 'frame handler failed');
    error = new ParleyError('INTERNAL');
  }
  return {
    type: 'error',
    code: error.code,
    message: error.message,
    ...(clientId ? { client_id: clientId } : {}),
    ...(error.retryAfterMs !== undefined ? { retry_after_ms: error.retryAfterMs } : {}),
  };
}

/**
 * @fastify/websocket routes the upgrade through Fastify: the socket keeps the ServerResponse made
 * for it, and the plugin's 'error' listener keeps Fastify's Request and Reply (with the
 * IncomingMessage and a request logger): about 3 KB of every idle connection, for its whole life.
 * The response never finishes on a WebSocket route, and this endpoint logs socket errors itself,
 * so both let go once the socket is open.
 */
function releaseUpgradeObjects(ws: WebSocket): void {
  const raw = (ws as unknown as { _socket: Socket & { _httpMessage?: ServerResponse | null } })._socket;
  raw._httpMessage?.detachSocket(raw);
  ws.removeAllListeners('error');
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Drain: stop reading frames, let the frames already read finish (their acks are written),
     * then close every socket with 1012 so that its client reconnects to another gateway. Sockets
     * not closed by `deadline` (epoch ms) are terminated.
     */
    drainSockets(deadline: number): Promise<void>;
  }
}

/**
 * An open socket: one small object, and no closure, timer or promise kept per socket while idle
 * (the socket's listeners are the same functions for every socket; they find it in `sessions`).
 */
interface Session {
  conn: Connection;
  /** Frames read and not yet handled. */
  inFlight: number;
  /** Settles when the frames read so far are handled, in order (the shared `idle` when none are). */
  chain: Promise<void>;
  /** When the latest send refused unbegun (for SEND_TIMEOUT_MS) was refused: sends read before then are refused too. */
  sendSkippedAt: number;
}

const idle = Promise.resolve();

/** How often sockets whose token has expired are closed (4102): protocol.md says within a quarter second. */
const EXPIRY_SWEEP_MS = 250;

function closedOf(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => (socket.readyState === socket.CLOSED ? resolve() : socket.once('close', () => resolve())));
}

function until<T>(p: Promise<T>, deadline: number): Promise<T | void> {
  let timer: NodeJS.Timeout;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * GET /ws: the WebSocket endpoint. The token is verified before the upgrade (401 otherwise); the
 * first frame must be hello. Frames are handled one at a time in arrival order, so a client's
 * messages get seqs in the order it sent them.
 */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const sessions = new Map<WebSocket, Session>();
    let draining = false;
    await app.register(fastifyWebsocket, {
      // No per-message compression: relayed events are framed once per node (ws/frame-writer.ts).
      // No client tracking in ws (a Set entry and a close listener per socket): `sessions` is the
      // endpoint's own, and at close its sockets are told to reconnect elsewhere (a drain has
      // closed them already).
      options: { maxPayload: config.ws.maxFrameBytes, perMessageDeflate: false, clientTracking: false },
      preClose(done) {
        for (const { conn } of sessions.values()) conn.close('SERVICE_RESTART');
        done();
      },
    });

    // A token's end closes its sockets: one sweep over them all, not a timer per socket.
    const expirySweep = setInterval(() => {
      const now = Date.now();
      for (const { conn } of sessions.values()) if (conn.caller.expiresAt <= now) conn.close('TOKEN_EXPIRED');
    }, EXPIRY_SWEEP_MS);
    expirySweep.unref();
    app.addHook('onClose', async () => clearInterval(expirySweep));

    /** A browser may open a socket from the gateway's own origin or an allowed one (cross-site WebSocket hijacking). */
    const checkOrigin = async (request: FastifyRequest) => {
      const origin = request.headers.origin;
      if (origin === undefined || config.allowedOrigins.includes('*') || config.allowedOrigins.includes(origin)) return;
      if (URL.canParse(origin) && new URL(origin).host === request.headers.host) return;
      throw new ParleyError('WS_ORIGIN_NOT_ALLOWED');
    };

    /**
     * Counts the socket against its user's cap from the handshake on, and lets go when the TCP
     * connection closes (the WebSocket's, or the handshake's if it never upgrades): no race between
     * handshakes in flight, and nothing leaked by a failed upgrade.
     */
    const socketsPerUser = new Map<string, number>();
    const messageRate = new MessageRate(config.messageRate.perSecond, config.messageRate.burst);
    const reserveSocket = async (request: FastifyRequest) => {
      const user = request.caller.id;
      const open = socketsPerUser.get(user) ?? 0;
      if (open >= config.ws.maxSocketsPerUser) throw new ParleyError('WS_TOO_MANY_SOCKETS');
      socketsPerUser.set(user, open + 1);
      // `on`, not `once`: the TCP socket closes once, and `once` would keep a wrapper per socket.
      request.raw.socket.on('close', () => {
        const left = socketsPerUser.get(user)! - 1;
        if (left > 0) socketsPerUser.set(user, left);
        else {
          socketsPerUser.delete(user);
          messageRate.forget(user);
        }
      });
    };

    // A revoked token's sockets close on every gateway (their handshakes are refused from then on).
    await onRevoked(app.core.channels, app.keys, (jti) => {
      for (const { conn } of sessions.values()) if (conn.caller.jti === jti) conn.close('TOKEN_REVOKED');
    });

    app.decorate('drainSockets', async (deadline: number) => {
      draining = true;
      const open = [...sessions];
      for (const [socket] of open) socket.pause();
      await until(Promise.allSettled(open.map(([, s]) => s.chain)), deadline);
      // Read again, so that the clients' close frames are seen (frames before them are dropped).
      for (const [socket, { conn }] of open) {
        socket.resume();
        conn.close('SERVICE_RESTART');
      }
      await until(Promise.all(open.map(([socket]) => closedOf(socket))), deadline);
      for (const [socket] of open) socket.terminate();
    });

    function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
      const session = sessions.get(this);
      // While draining, a frame still buffered after pause is not handled: no ack is written for
      // it, so its client sends it again (same client_id) after reconnecting elsewhere.
      if (!session || session.conn.closed || draining) return;
      const { conn } = session;
      if (isBinary) {
        app.metrics.framesIn.labels('invalid').inc();
        conn.send(errorFrame(new ParleyError('FRAME_BINARY'), conn));
        return;
      }
      let frame;
      try {
        // ws' default binaryType: a text frame arrives as one Buffer.
        frame = decodeFrame((data as Buffer).toString());
      } catch (err) {
        app.metrics.framesIn.labels('invalid').inc();
        conn.send(errorFrame(err, conn, err instanceof FrameRefused ? err.clientId : undefined));
        return;
      }
      app.metrics.framesIn.labels(frame.type).inc();
      const clientId = frame.type === 'send_message' ? frame.client_id : undefined;
      const wait = clientId === undefined ? 0 : messageRate.take(conn.caller.id);
      if (++session.inFlight >= MAX_FRAMES_IN_FLIGHT) this.pause();
      // A send is answered within SEND_TIMEOUT_MS of its arrival, however long the frames before it
      // or its own append take: refused then, it is not begun if it has not been, and what its
      // handler ends with is not sent (the resend with the same client_id finds it if stored). A
      // send refused unbegun takes with it the sends read before its turn came, which its client
      // sent before it could know: resent in order, one sender's messages keep their order.
      const readAt = Date.now();
      /** When this send was refused (0: not yet): its client may send what follows knowing it. */
      let refusedAt = 0;
      let deadline: NodeJS.Timeout | undefined;
      const refuse = () => {
        refusedAt = Date.now();
        clearTimeout(deadline);
        conn.send(errorFrame(sendTimedOut(), conn, clientId));
      };
      if (clientId !== undefined) deadline = setTimeout(refuse, config.sendTimeoutMs);
      session.chain = session.chain
        // A refusal goes through the chain too, so that answers keep the order of the frames.
        .then(() => {
          if (clientId !== undefined && refusedAt === 0 && readAt < session.sendSkippedAt) refuse();
          if (refusedAt > 0) {
            session.sendSkippedAt = Math.max(session.sendSkippedAt, refusedAt);
            return undefined;
          }
          if (wait > 0) throw new ParleyError('RATE_LIMITED', `Too many messages; retry in ${wait} ms`, wait);
          return routeFrame(conn, frame);
        })
        .then((answer) => {
          if (answer && refusedAt === 0) conn.send(answer);
        })
        .catch((err) => {
          if (refusedAt > 0) return;
          const answer = errorFrame(err, conn, clientId);
          conn.send(answer);
          // hello is answered once: a socket whose hello failed would never receive anything, so
          // it is closed and its client reconnects (later, when Redis or Postgres was missing).
          if (frame.type === 'hello' && answer.code !== 'FRAME_HELLO_REPEATED')
            conn.close(answer.code === 'SERVICE_UNAVAILABLE' ? 'TRY_AGAIN_LATER' : 'INTERNAL');
        })
        .finally(() => {
          clearTimeout(deadline);
          // The last frame handled: the socket keeps no promise of its own while idle.
          if (--session.inFlight === 0) session.chain = idle;
          if (session.inFlight < MAX_FRAMES_IN_FLIGHT && !conn.closed && !draining) this.resume();
        });
    }

    function onError(this: WebSocket, err: Error): void {
      sessions.get(this)?.conn.log.warn({ err: err.message }, 'socket error');
    }

    function onClose(this: WebSocket, code: number): void {
      const session = sessions.get(this);
      if (!session) return;
      sessions.delete(this);
      app.metrics.connections.dec();
      session.conn.detach();
      session.conn.log.info({ code }, 'socket closed');
    }

    app.get('/ws', { websocket: true, preValidation: [checkOrigin, app.authenticate, reserveSocket] }, (socket: WebSocket, request) => {
      const id = randomBytes(6).toString('hex');
      const conn = new Connection(id, request.caller, socket, app.core, app.verifyToken);
      conn.log.info({ reqId: request.id }, 'socket open');
      app.metrics.connections.inc();
      releaseUpgradeObjects(socket);

      conn.expectHello(config.ws.helloTimeoutMs);
      sessions.set(socket, { conn, inFlight: 0, chain: idle, sendSkippedAt: 0 });
      socket.on('message', onMessage);
      socket.on('error', onError);
      socket.on('close', onClose);
      // Upgraded after the drain began (on a connection kept alive from before): sent on at once.
      if (draining) conn.close('SERVICE_RESTART');
    });
  },
  { name: 'ws', dependencies: ['auth', 'core'] },
);
