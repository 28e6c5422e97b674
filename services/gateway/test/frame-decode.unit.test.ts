import t from 'tap';
import { limits } from '@parley/protocol';
import { decodeFrame, FrameRefused } from '../src/ws/frame-router.js';

const send = { type: 'send_message', client_id: 'c-1', chat_id: 7, message_type: 'text', content: 'hi' };

/** What decodeFrame refuses a text with: its code and the client_id it names. */
function refusal(text: string): { code: string; clientId: string | undefined } {
  try {
    decodeFrame(text);
  } catch (err) {
    if (err instanceof FrameRefused) return { code: err.code, clientId: err.clientId };
    throw err;
  }
  throw new Error(`accepted: ${text}`);
}

t.test('a valid frame comes back as it was sent', async (t) => {
  t.same(decodeFrame(JSON.stringify(send)), send);
  t.same(decodeFrame('{"type":"ping"}'), { type: 'ping' });
});

t.test('refusals carry their FRAME_* code, and the client_id when the frame had a usable one', async (t) => {
  t.same(refusal('{not json'), { code: 'FRAME_NOT_JSON', clientId: undefined });
  t.same(refusal('[1,2]'), { code: 'FRAME_NOT_JSON', clientId: undefined }, 'an array is not a frame');
  t.same(refusal('"hello"'), { code: 'FRAME_NOT_JSON', clientId: undefined }, 'nor a string');
  t.same(refusal('{"type":"shout","client_id":"c-2"}'), { code: 'FRAME_UNKNOWN_TYPE', clientId: 'c-2' });
  t.same(refusal('{"type":"__proto__"}'), { code: 'FRAME_UNKNOWN_TYPE', clientId: undefined }, 'no inherited name is a type');
  t.same(refusal(JSON.stringify({ ...send, chat_id: 'seven' })), { code: 'FRAME_INVALID', clientId: 'c-1' });
  t.same(
    refusal(JSON.stringify({ ...send, client_id: 'x'.repeat(limits.clientIdMaxLength + 1) })),
    { code: 'FRAME_INVALID', clientId: undefined },
    'a client_id past the limit is not named back',
  );
});

t.test('text that is not well-formed Unicode is refused, whatever the schema says', async (t) => {
  // A lone surrogate survives JSON.parse; it is not text.
  const frame = JSON.stringify(send).replace('"hi"', '"\\ud800"');
  t.same(refusal(frame), { code: 'FRAME_INVALID', clientId: 'c-1' });
});
