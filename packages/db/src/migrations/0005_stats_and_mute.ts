import { sql, type Kysely } from 'kysely';

/**
 * A member may mute a room (no offline notifications from it), and per-user stats count a user's
 * messages: an index by sender makes that a range read rather than a scan of every message.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('room_members')
    .addColumn('muted', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await sql`create index messages_sender on messages (sender_id) where kind = 'message'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index messages_sender`.execute(db);
  await db.schema.alterTable('room_members').dropColumn('muted').execute();
}
