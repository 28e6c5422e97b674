import t from 'tap';
import { entryOf, roomSeqOf, type StreamEntry } from '../src/stream-entry.js';

const at = '2026-12-01T10:00:00.000Z';
const id = '6f1d2c3b-0000-4000-8000-000000000001';
const entry = (fields: Record<string, string>): StreamEntry => ['1-0', Object.entries(fields).flat()];
const event = (e: Record<string, unknown>) => entry({ r: '7', s: String(e.seq), e: JSON.stringify(e) });
const base = { chat_id: 7, id, sender_id: 'alice', client_id: 'c-1', created_at: at };

t.test('a message entry becomes its messages row', async (t) => {
  const parsed = entryOf(event({ seq: 3, type: 'message', ...base, message_type: 'text', content: 'hi' }));
  t.same(parsed, {
    row: {
      room_id: 7,
      seq: 3,
      id,
      sender_id: 'alice',
      client_id: 'c-1',
      created_at: at,
      type: 'text',
      content: 'hi',
      system: null,
      attachment: null,
      forwarded_from: null,
    },
  });
});

t.test('an edit and a deletion become rows of their own kind, pointing at the message they change', async (t) => {
  t.match(entryOf(event({ seq: 4, type: 'message_edited', ...base, message_seq: 3, content: 'hello' })), {
    row: { kind: 'edit', seq: 4, target_seq: 3, type: 'edit', content: 'hello' },
  });
  t.match(entryOf(event({ seq: 5, type: 'message_deleted', ...base, message_seq: 3, recalled: true })), {
    row: { kind: 'delete', seq: 5, target_seq: 3, type: 'delete', content: '', recalled: true },
  });
});

t.test('a read or delivered position becomes a mark', async (t) => {
  t.same(entryOf(entry({ k: 'read', r: '7', u: 'bob', s: '12' })), { mark: { kind: 'read', room_id: 7, user_id: 'bob', seq: 12 } });
  t.same(entryOf(entry({ k: 'delivered', r: '7', u: 'bob', s: '13' })), { mark: { kind: 'delivered', room_id: 7, user_id: 'bob', seq: 13 } });
});

t.test('a malformed entry is undefined, never a throw', async (t) => {
  t.equal(entryOf(entry({ r: '7', s: '1' })), undefined, 'no event');
  t.equal(entryOf(entry({ r: '7', s: '1', e: '{not json' })), undefined, 'an event that is not JSON');
  t.equal(entryOf(event({ seq: 1, type: 'typing', ...base })), undefined, 'an event of no stored kind');
  t.equal(entryOf(entry({ k: 'seen', r: '7', u: 'bob', s: '1' })), undefined, 'a mark of no known kind');
  t.equal(entryOf(entry({ k: 'read', r: 'x', u: 'bob', s: '1' })), undefined, 'a mark of no room');
  t.equal(entryOf(entry({ k: 'read', r: '7', s: '1' })), undefined, 'a mark of no user');
  t.equal(entryOf(['1-0', []]), undefined, 'no fields at all');
});

t.test("roomSeqOf names a room event's place in its room's order, and nothing for a mark", async (t) => {
  t.same(roomSeqOf(['r', '7', 's', '3', 'e', '{}']), { room: 7, seq: 3 });
  t.same(roomSeqOf(['k', 'read', 'r', '7', 's', '3', 'u', 'bob']), {}, 'a mark has no seq of the order');
  t.same(roomSeqOf(['r', '0', 's', '3']), {}, 'room ids start at 1');
  t.same(roomSeqOf(['r', '7', 's', '1.5']), {}, 'a seq is an integer');
  t.same(roomSeqOf(['r', '7']), {}, 'no seq');
});
