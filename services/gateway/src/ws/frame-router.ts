import {
  clientFrames,
  isWellFormedText,
  limits,
  MALFORMED_TEXT,
  ParleyError,
  type ClientFrame,
  type ClientFrameType,
  type ErrorCode,
  type ServerFrame,
} from '@parley/protocol';
import { compileFrameValidator } from '../schema-validation.js';
import type { Connection } from './connection.js';
import { hello } from './hello.js';
import { sendMessage } from './send-message.js';
import { ping } from './ping.js';
import { markRead, received } from './mark-read.js';
import { setPresence, typing } from './signals.js';
import { refreshToken } from './refresh-token.js';

/** A handler sends what it has to say itself, or resolves with the frame's answer (an ack). */
type Handler<K extends ClientFrameType> = (conn: Connection, frame: Extract<ClientFrame, { type: K }>) => Promise<ServerFrame | void>;

/** One handler per client frame type. */
const handlers: { [K in ClientFrameType]: Handler<K> } = {
  hello,
  send_message: sendMessage,
  mark_read: markRead,
  received,
  set_presence: setPresence,
  typing,
  refresh_token: refreshToken,
  ping,
};

const validators = Object.fromEntries(Object.entries(clientFrames).map(([type, schema]) => [type, compileFrameValidator(schema)])) as Record<
  ClientFrameType,
  ReturnType<typeof compileFrameValidator>
>;

/**
 * A frame refused before any handler saw it. It carries the frame's `client_id` when the frame had
 * a usable one, so that a client with several sends in flight knows which one was refused.
 */
export class FrameRefused extends ParleyError {
  constructor(
    code: ErrorCode,
    message: string | undefined,
    readonly clientId: string | undefined,
  ) {
    super(code, message);
  }
}

/** The `client_id` of a frame that failed validation, if it is one the client could have meant (a short, well-formed string). */
function clientIdOf(value: object): string | undefined {
  const id = (value as { client_id?: unknown }).client_id;
  return typeof id === 'string' && id.length > 0 && id.length <= limits.clientIdMaxLength && isWellFormedText(id) ? id : undefined;
}

/** Parses and validates one text frame; throws FrameRefused with a FRAME_* code when it is refused. */
export function decodeFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameRefused('FRAME_NOT_JSON', undefined, undefined);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FrameRefused('FRAME_NOT_JSON', undefined, undefined);
  const clientId = clientIdOf(value);
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(validators, type))
    throw new FrameRefused('FRAME_UNKNOWN_TYPE', `Unknown frame type ${JSON.stringify(type)?.slice(0, 40)}`, clientId);
  const check = validators[type as ClientFrameType];
  if (!check(value)) {
    const first = check.errors?.[0];
    throw new FrameRefused('FRAME_INVALID', first ? `${first.instancePath || '/'}: ${first.message}` : undefined, clientId);
  }
  if (!isWellFormedText(value)) throw new FrameRefused('FRAME_INVALID', MALFORMED_TEXT, clientId);
  return value as ClientFrame;
}

/** Handles one frame; resolves with its answer, if the handler left that to the caller. */
export async function routeFrame(conn: Connection, frame: ClientFrame): Promise<ServerFrame | void> {
  if (!conn.helloReceived && frame.type !== 'hello' && frame.type !== 'ping') throw new ParleyError('FRAME_HELLO_REQUIRED');
  return (handlers[frame.type] as Handler<typeof frame.type>)(conn, frame);
}
