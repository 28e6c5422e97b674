import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { copyMessages, copyTransaction, createDb, createGroupRoom, insertMessages, messagesInRange, migrateToLatest, type NewMessage } from '@parley/db';
import type { MessageChange, MessageState } from '@parley/protocol';
import { startPostgres } from '@parley/testkit';

// The table the TypeScript fold is tested on (packages/protocol/test/message-state.unit.test.ts).
interface Case {
  name: string;
  changes: Array<MessageChange & { seq: number }>;
  arrival?: number[];
  state: MessageState;
}
const fixtures = new URL('../../protocol/test/fixtures/message-changes.json', import.meta.url);
const { cases } = JSON.parse(readFileSync(fixtures, 'utf8')) as { cases: Case[] };

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

// The persister's two ways of writing a batch: COPY of new rows, and the insert that skips present ones.
const writers = {
  copy: (rows: NewMessage[]) => copyTransaction(db, (trx, copy) => copyMessages(trx, copy, rows)),
  insert: (rows: NewMessage[]) => insertMessages(db, rows),
};

for (const c of cases) {
  t.test(c.name, async (t) => {
    // message_fold over the fixture's JSON: the SQL twin of foldChanges.
    const changes = c.changes.map(({ seq, ...change }) => ({ seq, change: JSON.stringify(change) }));
    const folded = await sql<{ state: MessageState }>`
      select message_fold(${JSON.stringify({ content: 'see you at 3' })}::jsonb, c.change::jsonb order by c.seq) as state
      from unnest(${changes.map((x) => x.seq)}::int[], ${changes.map((x) => x.change)}::text[]) as c(seq, change)`.execute(db);
    t.same(folded.rows[0]!.state, c.state, 'message_fold gives the state foldChanges gives');

    // The persister: rows written in the order they arrive, each write folding what it touches.
    const rows = (roomId: number) => {
      const rows = new Map<number, NewMessage>([[1, row(roomId, 1, { kind: 'message', sender_id: 'alice', content: 'see you at 3' })]]);
      for (const { seq, ...change } of c.changes) {
        rows.set(
          seq,
          change.kind === 'edit'
            ? row(roomId, seq, { kind: 'edit', sender_id: 'alice', target_seq: 1, content: change.content, created_at: change.created_at })
            : row(roomId, seq, { kind: 'delete', sender_id: change.sender_id, target_seq: 1, recalled: change.recalled, created_at: change.created_at }),
        );
      }
      return rows;
    };
    const deleted = c.state.deleted_at !== undefined;
    for (const [how, write] of Object.entries(writers)) {
      const room = await createGroupRoom(db, 'alice', { name: c.name.slice(0, 60), isPublic: false, memberIds: ['bob'] });
      const arriving = rows(room.id);
      for (const seq of c.arrival ?? [...arriving.keys()].sort((a, b) => a - b)) await write([arriving.get(seq)!]);
      const [message, ...edits] = await messagesInRange(db, room.id, 1, arriving.size);
      t.same(stateOf(message!), c.state, `${how}: the row holds that state, whatever order its rows came in`);
      t.same(
        edits.filter((e) => e.kind === 'edit' && e.content !== '').length > 0,
        !deleted && c.changes.some((x) => x.kind === 'edit'),
        deleted ? `${how}: the edits' texts are emptied` : `${how}: the edits keep their texts`,
      );
      // All rows in one batch: the write's own probe cannot see its changes, their targets fold it.
      const together = await createGroupRoom(db, 'alice', { name: c.name.slice(0, 60), isPublic: false, memberIds: ['bob'] });
      await write([...rows(together.id).values()]);
      t.same(stateOf((await messagesInRange(db, together.id, 1, 1))[0]!), c.state, `${how}: the same when they come in one batch`);
    }
  });
}

function row(roomId: number, seq: number, fields: Partial<NewMessage> & Pick<NewMessage, 'kind' | 'sender_id'>): NewMessage {
  return { room_id: roomId, seq, id: randomUUID(), client_id: `c-${seq}`, type: 'text', content: '', created_at: '2026-01-01T10:00:01.000Z', ...fields };
}

/** The row's state in the shape of a MessageState (absent where the row has null). */
function stateOf(r: { content: string; edited_at: Date | null; deleted_at: Date | null; deleted_by: string | null; recalled: boolean }): MessageState {
  return {
    content: r.content,
    ...(r.edited_at ? { edited_at: r.edited_at.toISOString() } : {}),
    ...(r.deleted_at ? { deleted_at: r.deleted_at.toISOString(), deleted_by: r.deleted_by ?? undefined, recalled: r.recalled } : {}),
  };
}
