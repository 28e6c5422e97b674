import { sql, type Kysely } from 'kysely';

/**
 * The persister's insert without checks and an index no one needs (issue 39, bench/README.md,
 * "Postgres at COPY speed"): Postgres' CPU per message persisted 27 → 16 µs.
 *
 * - The foreign keys of `room_id` and `sender_id` ran a trigger per row, each a lookup and a row
 *   lock of the room and the user. What they guarded is guaranteed before the event exists: the
 *   append script refuses a sender who is not in the room's member set, which is read from
 *   `room_members`, whose rows reference both the room and the user; a system message names no
 *   sender or an acting user. Neither row ever goes: a room is deleted by setting `deleted_at`
 *   (its messages stay, unread by anyone since no member remains), users are never deleted. So
 *   the cascade from `rooms` never ran, and no message row can name a room or user that is not
 *   there.
 * - The unique index on `id`: no query looks a message up by its id (a UUID each gateway draws);
 *   a replayed entry is skipped by the primary key (room, seq).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table messages drop constraint messages_room_id_fkey, drop constraint messages_sender_id_fkey, drop constraint messages_id_key`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table messages
      add constraint messages_room_id_fkey foreign key (room_id) references rooms (id) on delete cascade,
      add constraint messages_sender_id_fkey foreign key (sender_id) references users (id),
      add constraint messages_id_key unique (id)`.execute(db);
}
