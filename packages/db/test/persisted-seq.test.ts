import t from 'tap';
import { randomUUID } from 'node:crypto';
import { contiguousPersistedSeqs, createDb, createGroupRoom, insertMessages, migrateToLatest } from '@parley/db';
import { startPostgres } from '@parley/testkit';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

t.test('each room’s watermark moves to the end of its contiguous run, dead letters counted in', async (t) => {
  const room = async () => (await createGroupRoom(db, 'alice', { name: 'watermark', isPublic: false, memberIds: [] })).id;
  const [gap, dead, none, empty] = [await room(), await room(), await room(), await room()];
  const write = (roomId: number, seqs: number[]) =>
    insertMessages(
      db,
      seqs.map((seq) => ({
        room_id: roomId,
        seq,
        id: randomUUID(),
        sender_id: 'alice',
        client_id: `c-${seq}`,
        type: 'text',
        content: 'x',
        created_at: new Date().toISOString(),
      })),
    );
  await write(gap, [1, 2, 3, 5, 6]);
  await write(dead, [1, 2, 4, 6]);
  await write(none, [1, 2]);
  const upTo = await contiguousPersistedSeqs(db, [
    { room_id: gap, known: 0, deadLettered: [] },
    { room_id: dead, known: 1, deadLettered: [3, 5, 9] },
    { room_id: none, known: 2, deadLettered: [] },
    { room_id: empty, known: 7, deadLettered: [] },
  ]);
  t.same(Object.fromEntries(upTo), { [gap]: 3, [dead]: 6, [none]: 2, [empty]: 7 }, 'up to the first hole; a dead letter fills one; nothing new keeps it');
});
