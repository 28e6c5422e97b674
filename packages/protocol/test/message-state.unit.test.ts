import t from 'tap';
import { readFileSync } from 'node:fs';
import { applyChange, foldChanges, type MessageChange, type MessageState } from '@parley/protocol';

interface Case {
  name: string;
  changes: Array<MessageChange & { seq: number }>;
  state: MessageState;
}
const { cases } = JSON.parse(readFileSync(new URL('fixtures/message-changes.json', import.meta.url), 'utf8')) as { cases: Case[] };
const sent: MessageState = { content: 'see you at 3' };
const change = ({ seq: _seq, ...c }: Case['changes'][number]) => c;

for (const c of cases) {
  t.test(c.name, async (t) => {
    const changes = c.changes.map(change);
    t.same(foldChanges(sent, changes), c.state, 'the changes folded over the message as sent');
    // Postgres' row holds the changes persisted so far; the gateway folds all it has over it.
    for (let k = 1; k < changes.length; k++) {
      t.same(foldChanges(foldChanges(sent, changes.slice(0, k)), changes), c.state, `and over the message holding the first ${k}`);
    }
  });
}

t.test("the fold keeps the message's other fields, and returns a new object", async (t) => {
  const message = { content: 'hi', seq: 7, sender_id: 'alice' };
  const edited = applyChange(message, { kind: 'edit', content: 'hello', created_at: '2026-01-01T10:00:02.000Z' });
  t.same(edited, { content: 'hello', seq: 7, sender_id: 'alice', edited_at: '2026-01-01T10:00:02.000Z' });
  t.same(message, { content: 'hi', seq: 7, sender_id: 'alice' }, 'the message itself is not changed');
});
