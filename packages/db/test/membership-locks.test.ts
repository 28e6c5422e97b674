import t from 'tap';
import { sql } from 'kysely';
import { applyPositionMarks, createDb, createGroupRoom, migrateToLatest, removeRoomMember, touchRooms } from '@parley/db';
import { eventually, startPostgres } from '@parley/testkit';

const pg = await startPostgres();
t.teardown(() => pg.stop());
const db = createDb({ url: pg.url });
t.teardown(() => db.destroy());
await migrateToLatest(db);

t.test("a member leaving while the persister's batch marks their read position: both commit, no deadlock", async (t) => {
  const room = (await createGroupRoom(db, 'owner', { name: 'locks', isPublic: false, memberIds: ['carol'] })).id;
  // The persister's batch, as in persister.ts: the room's activity, then the members' positions.
  // It stops between the two while the leave runs.
  let release!: () => void;
  const between = new Promise<void>((resolve) => (release = resolve));
  const batch = db.transaction().execute(async (trx) => {
    await touchRooms(trx, new Map([[room, new Date().toISOString()]]));
    await between;
    await applyPositionMarks(trx, [{ kind: 'read', room_id: room, user_id: 'carol', seq: 1 }]);
  });
  const leave = removeRoomMember(db, room, 'carol');
  // The leave waits for a lock the batch holds.
  await eventually(
    async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'`.execute(db)).rows[0]!.n > 0,
    10_000,
    'the leave waits for the batch',
  );
  release();
  const [batched, left] = await Promise.allSettled([batch, leave]);
  t.same([batched.status, left.status], ['fulfilled', 'fulfilled'], 'neither is chosen as a deadlock victim');
  t.equal(left.status === 'fulfilled' && left.value, true, 'carol left');
  const members = await db.selectFrom('room_members').select('user_id').where('room_id', '=', room).execute();
  t.same(
    members.map((m) => m.user_id),
    ['owner'],
  );
  t.equal((await db.selectFrom('rooms').select('member_count').where('id', '=', room).executeTakeFirstOrThrow()).member_count, 1);
});
