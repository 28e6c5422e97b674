import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  changeTargetOf,
  decodeRoomEvent,
  encodeChangeEventBody,
  encodeHistoryPage,
  encodeMessageEvent,
  encodeMessageEventBody,
  encodeRoomSignal,
  eventAroundSeq,
  frameTypeOf,
  isMessageEvent,
  isRoomEvent,
  membershipEndOf,
  messageJsonOfEvent,
  messageOfEvent,
  readEventCreatedAt,
  readEventKind,
  readEventSeq,
  receiptAroundSeq,
  withEditTextEmptied,
  withSeq,
  type Message,
} from '@parley/protocol';

const message: Message = {
  seq: 41,
  chat_id: 7,
  id: '0b5f7d8e-1111-4222-8333-944455556666',
  sender_id: 'alice',
  client_id: 'a-1',
  message_type: 'text',
  content: 'a "quoted" type:"x" text',
  created_at: '2026-01-01T10:00:01.000Z',
};
const change = {
  chat_id: 7,
  id: '1b5f7d8e-1111-4222-8333-944455556666',
  sender_id: 'alice',
  client_id: 'e-1',
  message_seq: 41,
  created_at: '2026-01-01T10:00:02.000Z',
};

t.test('an event is its body with the seq put first, as the append script does it', async (t) => {
  const body = encodeMessageEventBody(message);
  const [head, tail] = eventAroundSeq(body);
  t.equal(head + 41 + tail, encodeMessageEvent(message), 'head + seq + tail is the event');
  t.equal(withSeq(41, body), encodeMessageEvent(message));
  t.same(JSON.parse(encodeMessageEvent(message)), { type: 'message', ...message }, 'and it decodes to the message');
  t.throws(() => eventAroundSeq('[1]'), /non-empty JSON object/);
  t.throws(() => eventAroundSeq('{}'), /non-empty JSON object/);
});

t.test('reads cut from the encoded event agree with its decoding', async (t) => {
  const event = encodeMessageEvent(message);
  const edit = withSeq(42, encodeChangeEventBody({ type: 'message_edited', ...change, content: 'new "type":"message_deleted"' }));
  const deletion = withSeq(43, encodeChangeEventBody({ type: 'message_deleted', ...change, recalled: true }));
  t.same([readEventSeq(event), readEventSeq(edit), readEventSeq(deletion)], [41, 42, 43], 'seq');
  t.same(
    [readEventKind(event), readEventKind(edit), readEventKind(deletion)],
    ['message', 'message_edited', 'message_deleted'],
    'kind, whatever the text holds',
  );
  t.same([isMessageEvent(event), isMessageEvent(edit)], [true, false]);
  t.equal(readEventCreatedAt(event), Date.parse(message.created_at), 'created_at');
  t.equal(readEventCreatedAt('{"type":"typing"}'), undefined, 'a frame without one');
  t.same(messageOfEvent(event), message, 'the Message of a message event');
  t.same(JSON.parse(messageJsonOfEvent(event)), message, 'its JSON, cut without parsing');
  t.throws(() => messageJsonOfEvent(edit), /not a message event/);
  t.equal(changeTargetOf(edit), 41, 'the message an edit changes');
  t.same(JSON.parse(withEditTextEmptied(edit)), { ...JSON.parse(edit), content: '' }, 'an edit with its text emptied');
  t.same(decodeRoomEvent(deletion), { seq: 43, type: 'message_deleted', ...change, recalled: true });
  t.equal(decodeRoomEvent('{"seq":4'), undefined, 'not JSON: undefined');
  t.throws(() => readEventSeq('{"type":"typing"}'), /not a room event/);
  t.same([isRoomEvent(event), isRoomEvent('{"type":"typing","chat_id":7}')], [true, false], 'a room event or a signal');
  t.same([frameTypeOf(event), frameTypeOf('{"type":"typing","chat_id":7}'), frameTypeOf('[]')], ['message', 'typing', 'unknown'], "any frame's type");
});

t.test('the end of a membership: who a system message locks out', async (t) => {
  const system = (event: string, user_id?: string) =>
    encodeMessageEvent({ ...message, message_type: 'system', content: '', system: { event, ...(user_id ? { user_id } : {}) } as Message['system'] });
  t.equal(membershipEndOf(system('member_left', 'bob')), 'bob');
  t.equal(membershipEndOf(system('member_removed', 'carol')), 'carol');
  t.equal(membershipEndOf(system('room_deleted')), '*');
  t.equal(membershipEndOf(system('member_joined', 'dave')), undefined);
  t.equal(
    membershipEndOf(encodeMessageEvent({ ...message, content: '"message_type":"system"' })),
    undefined,
    'a text that quotes the marker is no system message',
  );
});

t.test('receipts, signals and history pages are encoded here too', async (t) => {
  const typing = encodeRoomSignal({ type: 'typing', chat_id: 7, user_id: 'alice', state: 'start', expires_in_ms: 5000 });
  t.same([isRoomEvent(typing), frameTypeOf(typing)], [false, 'typing'], 'a signal is no room event, and says its type');
  const [head, tail] = receiptAroundSeq('read_receipt', 7, 'bo"b');
  t.same(JSON.parse(head + 12 + tail), { type: 'read_receipt', chat_id: 7, user_id: 'bo"b', seq: 12 });
  const page = encodeHistoryPage([messageJsonOfEvent(encodeMessageEvent(message))], { has_more: false, head_seq: 41, next_before: null, next_after: 40 });
  t.same(JSON.parse(page), { messages: [message], has_more: false, head_seq: 41, next_before: null, next_after: 40 });
});

/**
 * Acceptance: outside this codec, no server code and no Lua script reads event JSON as text. Two
 * signs would show it: a JSON key written in a string or a pattern (`'"created_at":"'`, `/"seq":\d+/`,
 * `'"deleted_at"'`), or a JSON.parse in a file that is not known to parse something else.
 */
t.test('no TypeScript or Lua outside the codec reads an encoded event', async (t) => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const codec = 'packages/protocol/src/room-event.ts';
  // Each file that parses JSON, and what: none of it a room event.
  const parsesOtherJson: Record<string, string> = {
    'services/gateway/src/ws/frame-router.ts': 'the frames clients send',
    'services/gateway/src/relay/user-hub.ts': "a user's control messages",
    'packages/redis/src/keys.ts': 'changes-hash values (MessageChange)',
    'packages/client/src/client.ts': 'the SDK decodes every frame it receives, as the objects frames.ts defines',
    'packages/client/src/rest.ts': "the SDK's REST answers, as the objects rest.ts defines",
  };
  const files = [
    ...['services', 'packages'].flatMap((top) =>
      readdirSync(join(root, top))
        // The test kit crafts raw events on purpose (what a bug or an old gateway could leave).
        .filter((name) => name !== 'testkit')
        .flatMap((name) => sourceFiles(join(root, top, name, 'src'), '.ts')),
    ),
    ...sourceFiles(join(root, 'packages/redis/scripts'), '.lua'),
  ].map((f) => relative(root, f));
  t.ok(
    files.length > 80 && files.includes('services/gateway/src/relay/room-hub.ts') && files.includes('packages/redis/scripts/room-append.lua'),
    `${files.length} files read`,
  );
  const jsonKey = /\\?"[a-z_]+\\?":/;
  const found: string[] = [];
  for (const file of files.filter((f) => f !== codec)) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const code = line.trimStart();
      if (/^(\/\/|\*|\/\*|--)/.test(code)) return; // a comment may show the encoding
      if (jsonKey.test(code)) found.push(`${file}:${i + 1}: a JSON key in the code: ${code}`);
      if (code.includes('JSON.parse(') && !parsesOtherJson[file]) found.push(`${file}:${i + 1}: parses JSON: ${code}`);
      if (/\bcjson\b/.test(code)) found.push(`${file}:${i + 1}: Lua decodes JSON: ${code}`);
    });
  }
  t.same(found, [], 'every read of an encoded event goes through room-event.ts');
});

function sourceFiles(dir: string, ext: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(ext) && !n.endsWith('.d.ts')).map((n) => join(dir, n));
}
