import t from 'tap';
import { randomUUID } from 'node:crypto';
import { copyMessages, copyTransaction, createDb, createGroupRoom, insertMessages, messagesInRange, migrateToLatest, type NewMessage } from '@parley/db';
import { startPostgres } from '@parley/testkit';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

const writers = {
  copy: (rows: NewMessage[]) => copyTransaction(db, (trx, copy) => copyMessages(trx, copy, rows)),
  insert: (rows: NewMessage[]) => insertMessages(db, rows),
};

for (const [how, write] of Object.entries(writers)) {
  t.test(`${how}: a batch is written, every column as given; text is made well-formed`, async (t) => {
    const room = (await createGroupRoom(db, 'alice', { name: how, isPublic: false, memberIds: ['bob'] })).id;
    const at = '2026-01-01T10:00:01.000Z';
    const rows: NewMessage[] = [
      // Every character COPY's text format escapes, and what looks like its escapes.
      {
        room_id: room,
        seq: 1,
        id: randomUUID(),
        sender_id: 'alice',
        client_id: 'c\t1',
        type: 'text',
        content: 'a "quoted" \\ line\nbreak\ttab\r\\N 药',
        created_at: at,
      },
      {
        room_id: room,
        seq: 2,
        id: randomUUID(),
        sender_id: null,
        client_id: 'c-2',
        type: 'system',
        content: '',
        system: { event: 'member_joined', user_id: 'bob' },
        created_at: new Date(at),
      },
      {
        room_id: room,
        seq: 3,
        id: randomUUID(),
        sender_id: 'bob',
        client_id: 'c-3',
        type: 'image',
        content: 'lone \udc00 surrogate',
        attachment: { id: randomUUID(), name: 'x\t\\y\n.png' },
        forwarded_from: { chat_id: 9, seq: 4 },
        created_at: at,
      },
      {
        room_id: room,
        seq: 4,
        id: randomUUID(),
        sender_id: 'bob',
        client_id: 'c-4',
        kind: 'delete',
        target_seq: 9, // a message not yet written (another persister's): nothing to fold here
        type: 'delete',
        content: '',
        recalled: true,
        created_at: at,
      },
    ];
    t.equal(await write(rows), 4);
    const stored = await messagesInRange(db, room, 1, 4);
    t.match(stored, [
      { seq: 1, kind: 'message', client_id: 'c\t1', content: 'a "quoted" \\ line\nbreak\ttab\r\\N 药', sender_id: 'alice', system: null, recalled: false },
      { seq: 2, type: 'system', sender_id: null, system: { event: 'member_joined', user_id: 'bob' } },
      { seq: 3, content: 'lone \ufffd surrogate', attachment: { name: 'x\t\\y\n.png' }, forwarded_from: { chat_id: 9, seq: 4 } },
      { seq: 4, kind: 'delete', target_seq: 9, recalled: true },
    ]);
    t.same(stored[0]!.created_at, new Date(at));
    t.same(stored[1]!.created_at, new Date(at));

    const replay = [rows[0]!, { ...rows[1]!, id: randomUUID() }, { ...rows[0]!, seq: 5, id: randomUUID(), client_id: 'c-5' }];
    if (how === 'insert') t.equal(await write(replay), 1, 'a replayed row is skipped, by room and seq; the new one written');
    else await t.rejects(write(replay), { code: '23505' }, 'a replayed row fails the COPY: the batch is for the insert');
    t.equal((await messagesInRange(db, room, 1, 5)).length, how === 'insert' ? 5 : 4, 'a failed COPY writes nothing');
  });
}
