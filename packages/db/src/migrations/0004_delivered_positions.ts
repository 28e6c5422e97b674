import type { Kysely } from 'kysely';

/** How far each member's client has received a room: a direct room's messages show "delivered" from it. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('room_members')
    .addColumn('last_delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('room_members').dropColumn('last_delivered_seq').execute();
}
