import * as wsModule from 'ws';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { frameTypeOf } from '@parley/protocol';

// ws frames a message with Sender.frame; its type declarations leave it out.
const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

/** A server frame, framed once, with its `type` (for the frames-sent metric). */
export interface Frame {
  type: string;
  parts: Buffer[];
}

/** A text message framed once (a server does not mask), to be written to any number of sockets. */
export function textFrame(data: string): Frame {
  return { type: frameTypeOf(data), parts: Sender.frame(Buffer.from(data), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }) };
}

const corked = new Set<Socket>();

function uncorkAll() {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

/**
 * Writes a pre-framed message straight to the socket under the WebSocket, corked until the end of
 * this event-loop turn: an event relayed to a room is framed once per node, and the events one read
 * from Redis brings reach each socket in one write. Valid because the gateway's sockets use no
 * per-message compression (ws would otherwise queue frames of its own); frames ws sends itself go
 * through the same socket, in order, since cork only holds writes back.
 */
export function writeFrame(ws: WebSocket, frame: Frame): void {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  if (!corked.has(socket)) {
    if (corked.size === 0) setImmediate(uncorkAll);
    socket.cork();
    corked.add(socket);
  }
  for (const part of frame.parts) socket.write(part);
}
