import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { clientFrames, ParleyError, registerFormats, type ClientFrame, type ClientFrameType } from '@parley/protocol';
import type { Connection } from './connection.js';
import { hello } from './hello.js';
import { sendMessage } from './send-message.js';
import { ping } from './ping.js';
import { markRead, received } from './mark-read.js';
import { setPresence, typing } from './signals.js';
import { refreshToken } from './refresh-token.js';

type Handler<K extends ClientFrameType> = (conn: Connection, frame: Extract<ClientFrame, { type: K }>) => Promise<void>;

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

registerFormats();
const validators = Object.fromEntries(
  Object.entries(clientFrames).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
) as Record<ClientFrameType, TypeCheck<any>>;

/** Parses and validates one text frame; throws a ParleyError with a FRAME_* code when it is refused. */
export function decodeFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ParleyError('FRAME_NOT_JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ParleyError('FRAME_NOT_JSON');
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(validators, type)) throw new ParleyError('FRAME_UNKNOWN_TYPE', `Unknown frame type ${JSON.stringify(type)?.slice(0, 40)}`);
  const check = validators[type as ClientFrameType];
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw new ParleyError('FRAME_INVALID', first ? `${first.path || '/'}: ${first.message}` : undefined);
  }
  return value as ClientFrame;
}

export async function routeFrame(conn: Connection, frame: ClientFrame): Promise<void> {
  if (!conn.helloReceived && frame.type !== 'hello' && frame.type !== 'ping') throw new ParleyError('FRAME_HELLO_REQUIRED');
  await (handlers[frame.type] as Handler<typeof frame.type>)(conn, frame as never);
}
